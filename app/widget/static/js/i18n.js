// Labels in English and German, and the words for every commercetools status the page shows.
// The language is the signed context's locale, else the market's (set once the first view arrives).

export const LABELS = {
  en: {
    case: "Case",
    agent: "Agent",
    // The case header's subjects, as the server rendered them in the link's language.
    subject: { ticketId: "Ticket", processId: "Process", orderNumber: "Order", contactExternalId: "Contact" },
    refresh: "Refresh",
    refreshing: "Refreshing…",
    customer: "Customer",
    candidates: "Other matches",
    orders: "Orders",
    order: "Selected order",
    pushes: "Updates sent to this ticket",
    loading: "Loading",
    dataAsOf: "Data as of {time}",
    stale: "Stale",
    staleNote: "commercetools could not be reached: this is the last known data, as of {time}.",
    show: "Show",
    showLabel: "Show {field} (the read is recorded)",
    revealFailed: "Could not show this field: {reason}",
    name: "Name",
    email: "Email",
    phones: "Phone",
    address: "Address",
    customerNumber: "Customer no.",
    store: "Store",
    stores: "Stores",
    orderCount: "Orders",
    group: "Group",
    since: "Customer since",
    guest: "Guest checkout: this order has no customer account.",
    noCustomer: "No customer matches this ticket.",
    noCandidates: "No other customer or guest order matches.",
    ambiguous: "Several customers match equally well: check the store and link the right one.",
    matchedBy: "Matched by {what}",
    matched: { email: "email", phone: "phone", orderNumber: "order number", ticketId: "ticket link", contactExternalId: "contact id" },
    guestOrders: "Guest orders",
    registered: "Customer account",
    linkThis: "Link to this ticket",
    linkCustomerLabel: "Link to this ticket: customer {name} ({store})",
    linkOrderLabel: "Link to this ticket: order {number}",
    linked: "Linked to this ticket",
    linkedBy: "Linked by {agent}",
    linkedAuto: "Linked through the order's ticket field",
    linkDone: "Linked to this ticket.",
    linkedElsewhere: "This ticket is linked to something else: {what} ({store}).",
    linkFailed: "Could not link: {reason}",
    noOrders: "No orders found.",
    items: "{count} items",
    placed: "Placed",
    lineItems: "Items",
    qty: "Qty",
    subtotal: "Net",
    tax: "Tax",
    total: "Total",
    shipping: "Shipping",
    shippingAddress: "Shipping address",
    billingAddress: "Billing address",
    deliveries: "Deliveries",
    delivery: "Delivery {n}",
    noDeliveries: "Nothing shipped yet.",
    parcel: "Parcel",
        trackLabel: "Track parcel {id} with {carrier} (opens in a new tab)",
    returnParcel: "Return parcel",
    noTracking: "no tracking number",
    returns: "Returns and refunds",
    noReturns: "No returns.",
    returnOf: "Return of {date}",
    refunds: "Refunds",
    payments: "Payment",
    noPayments: "No payment recorded.",
    discounts: "Discount codes",
    noPushes: "No updates have been sent to this ticket yet.",
    deliveredOutcome: "Delivered",
    deadLettered: "Not delivered",
    attempts: "{n} attempts",
    more: "More updates exist than are shown.",
    selectFirst: "Choose an order to see its details.",
    noTicket: "The link names no ticket: there are no updates to show.",
    warning: "Note",
    error: {
      401: "Your session has ended. Open the widget again from the ticket.",
      403: "Your role may not see this.",
      404: "Not available: it does not exist, or it is in a store your role may not see.",
      422: "The ticket's details could not be used for a search: {detail}",
      429: "Too many requests. Wait a moment, then use Refresh.",
      500: "The gateway failed unexpectedly. Try Refresh; if it stays, tell an administrator.",
      502: "commercetools gave an answer the gateway cannot use. Tell an administrator.",
      503: "commercetools or the gateway's storage is unavailable. Try Refresh in a minute.",
      network: "The gateway could not be reached. Check the connection, then use Refresh.",
      other: "This part could not be loaded (HTTP {status}).",
    },
  },
  de: {
    case: "Vorgang",
    agent: "Agent",
    subject: { ticketId: "Ticket", processId: "Vorgang", orderNumber: "Bestellung", contactExternalId: "Kontakt" },
    refresh: "Aktualisieren",
    refreshing: "Wird aktualisiert…",
    customer: "Kunde",
    candidates: "Weitere Treffer",
    orders: "Bestellungen",
    order: "Ausgewählte Bestellung",
    pushes: "An dieses Ticket gesendete Updates",
    loading: "Wird geladen",
    dataAsOf: "Datenstand {time}",
    stale: "Veraltet",
    staleNote: "commercetools war nicht erreichbar: Dies ist der letzte bekannte Stand vom {time}.",
    show: "Anzeigen",
    showLabel: "Anzeigen: {field} (der Zugriff wird protokolliert)",
    revealFailed: "Feld konnte nicht angezeigt werden: {reason}",
    name: "Name",
    email: "E-Mail",
    phones: "Telefon",
    address: "Adresse",
    customerNumber: "Kundennr.",
    store: "Shop",
    stores: "Shops",
    orderCount: "Bestellungen",
    group: "Gruppe",
    since: "Kunde seit",
    guest: "Gastbestellung: Zu dieser Bestellung gibt es kein Kundenkonto.",
    noCustomer: "Kein Kunde passt zu diesem Ticket.",
    noCandidates: "Keine weiteren Kunden oder Gastbestellungen gefunden.",
    ambiguous: "Mehrere Kunden passen gleich gut: Shop prüfen und den richtigen verknüpfen.",
    matchedBy: "Gefunden über {what}",
    matched: { email: "E-Mail", phone: "Telefon", orderNumber: "Bestellnummer", ticketId: "Ticket-Verknüpfung", contactExternalId: "Kontakt-ID" },
    guestOrders: "Gastbestellungen",
    registered: "Kundenkonto",
    linkThis: "Mit diesem Ticket verknüpfen",
    linkCustomerLabel: "Mit diesem Ticket verknüpfen: Kunde {name} ({store})",
    linkOrderLabel: "Mit diesem Ticket verknüpfen: Bestellung {number}",
    linked: "Mit diesem Ticket verknüpft",
    linkedBy: "Verknüpft von {agent}",
    linkedAuto: "Verknüpft über das Ticketfeld der Bestellung",
    linkDone: "Mit diesem Ticket verknüpft.",
    linkedElsewhere: "Dieses Ticket ist mit etwas anderem verknüpft: {what} ({store}).",
    linkFailed: "Verknüpfen fehlgeschlagen: {reason}",
    noOrders: "Keine Bestellungen gefunden.",
    items: "{count} Artikel",
    placed: "Bestellt",
    lineItems: "Artikel",
    qty: "Menge",
    subtotal: "Netto",
    tax: "Steuer",
    total: "Gesamt",
    shipping: "Versand",
    shippingAddress: "Lieferadresse",
    billingAddress: "Rechnungsadresse",
    deliveries: "Lieferungen",
    delivery: "Lieferung {n}",
    noDeliveries: "Noch nichts versendet.",
    parcel: "Paket",
        trackLabel: "Paket {id} bei {carrier} verfolgen (öffnet einen neuen Tab)",
    returnParcel: "Retourenpaket",
    noTracking: "keine Sendungsnummer",
    returns: "Retouren und Erstattungen",
    noReturns: "Keine Retouren.",
    returnOf: "Retoure vom {date}",
    refunds: "Erstattungen",
    payments: "Zahlung",
    noPayments: "Keine Zahlung erfasst.",
    discounts: "Rabattcodes",
    noPushes: "An dieses Ticket wurden noch keine Updates gesendet.",
    deliveredOutcome: "Zugestellt",
    deadLettered: "Nicht zugestellt",
    attempts: "{n} Versuche",
    more: "Es gibt mehr Updates als angezeigt.",
    selectFirst: "Wählen Sie eine Bestellung, um Details zu sehen.",
    noTicket: "Der Link nennt kein Ticket: Es gibt keine Updates anzuzeigen.",
    warning: "Hinweis",
    error: {
      401: "Ihre Sitzung ist abgelaufen. Öffnen Sie das Widget erneut aus dem Ticket.",
      403: "Ihre Rolle darf dies nicht sehen.",
      404: "Nicht verfügbar: existiert nicht oder liegt in einem Shop, den Ihre Rolle nicht sehen darf.",
      422: "Mit den Angaben des Tickets ließ sich nicht suchen: {detail}",
      429: "Zu viele Anfragen. Kurz warten, dann Aktualisieren.",
      500: "Das Gateway ist unerwartet fehlgeschlagen. Aktualisieren; wenn es bleibt, Administrator informieren.",
      502: "commercetools hat eine unbrauchbare Antwort geliefert. Bitte Administrator informieren.",
      503: "commercetools oder der Speicher des Gateways ist nicht erreichbar. In einer Minute Aktualisieren.",
      network: "Das Gateway war nicht erreichbar. Verbindung prüfen, dann Aktualisieren.",
      other: "Dieser Teil konnte nicht geladen werden (HTTP {status}).",
    },
  },
};

// commercetools' status values, in words, with a tone that the badge also says in text.
export const STATUS = {
  en: {
    order: { Open: "Open", Confirmed: "Confirmed", Complete: "Complete", Cancelled: "Cancelled" },
    shipment: {
      Shipped: "Shipped", Ready: "Ready to ship", Pending: "Not shipped", Delayed: "Delayed",
      Partial: "Partly shipped", Backorder: "Backorder", Delivered: "Delivered", Canceled: "Cancelled",
    },
    payment: {
      BalanceDue: "Balance due", Failed: "Failed", Pending: "Pending", CreditOwed: "Credit owed", Paid: "Paid",
    },
    returnShipment: { Advised: "Announced", Returned: "Received", BackInStock: "Back in stock", Unusable: "Unusable" },
    returnPayment: { NonRefundable: "Not refundable", Initial: "Refund open", Refunded: "Refunded", NotRefunded: "Not refunded" },
    transaction: { Authorization: "Authorization", CancelAuthorization: "Authorization cancelled", Charge: "Charge", Refund: "Refund", Chargeback: "Chargeback" },
    transactionState: { Initial: "initial", Pending: "pending", Success: "succeeded", Failure: "failed" },
    kinds: { order: "Order", shipment: "Shipment", payment: "Payment", return: "Return" },
    none: "not set",
  },
  de: {
    order: { Open: "Offen", Confirmed: "Bestätigt", Complete: "Abgeschlossen", Cancelled: "Storniert" },
    shipment: {
      Shipped: "Versendet", Ready: "Versandbereit", Pending: "Nicht versendet", Delayed: "Verzögert",
      Partial: "Teilweise versendet", Backorder: "Nachlieferung", Delivered: "Zugestellt", Canceled: "Storniert",
    },
    payment: {
      BalanceDue: "Offener Betrag", Failed: "Fehlgeschlagen", Pending: "Ausstehend", CreditOwed: "Guthaben offen", Paid: "Bezahlt",
    },
    returnShipment: { Advised: "Angekündigt", Returned: "Eingegangen", BackInStock: "Wieder auf Lager", Unusable: "Unbrauchbar" },
    returnPayment: { NonRefundable: "Nicht erstattbar", Initial: "Erstattung offen", Refunded: "Erstattet", NotRefunded: "Nicht erstattet" },
    transaction: { Authorization: "Autorisierung", CancelAuthorization: "Autorisierung storniert", Charge: "Belastung", Refund: "Erstattung", Chargeback: "Rückbuchung" },
    transactionState: { Initial: "angelegt", Pending: "ausstehend", Success: "erfolgreich", Failure: "fehlgeschlagen" },
    kinds: { order: "Bestellung", shipment: "Versand", payment: "Zahlung", return: "Retoure" },
    none: "nicht gesetzt",
  },
};

const TONES = {
  ok: ["Complete", "Confirmed", "Shipped", "Delivered", "Paid", "Refunded", "BackInStock", "Success"],
  warn: ["Pending", "Ready", "Partial", "Backorder", "Delayed", "BalanceDue", "CreditOwed", "Advised", "Returned", "Initial"],
  bad: ["Cancelled", "Canceled", "Failed", "Failure", "Unusable", "NotRefunded", "Chargeback"],
};

let language = "en";

export function languageOf(locale) {
  return locale && locale.toLowerCase().startsWith("de") ? "de" : "en";
}

export function setLanguage(lang) {
  language = LABELS[lang] ? lang : "en";
  document.documentElement.lang = language;
  for (const element of document.querySelectorAll("[data-label]")) {
    element.textContent = t(element.getAttribute("data-label"));
  }
}

export function currentLanguage() {
  return language;
}

// A label with {placeholders} filled in; "error.404" style keys reach into nested tables.
export function t(key, values) {
  let text = key.split(".").reduce((table, part) => (table == null ? undefined : table[part]), LABELS[language]);
  if (text === undefined) {
    text = key.split(".").reduce((table, part) => (table == null ? undefined : table[part]), LABELS.en);
  }
  if (typeof text !== "string") {
    return key;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => (values && values[name] != null ? String(values[name]) : whole));
}

export function statusWord(kind, value) {
  if (value == null) {
    return STATUS[language].none;
  }
  const words = STATUS[language][kind] || {};
  return words[value] || value;
}

export function kindWord(kind) {
  return STATUS[language].kinds[kind] || kind;
}

export function toneOf(value) {
  for (const [tone, values] of Object.entries(TONES)) {
    if (values.includes(value)) {
      return tone;
    }
  }
  return "neutral";
}
