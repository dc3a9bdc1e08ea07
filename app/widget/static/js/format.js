// Money and time for the agent: Intl with the view's locale and currency, times in the market's zone.

import { currentLanguage } from "./i18n.js";

export function money(amount, locale) {
  if (!amount) {
    return "";
  }
  const precise = amount.preciseAmount != null;
  const digits = precise ? amount.preciseFractionDigits : amount.fractionDigits;
  const value = (precise ? amount.preciseAmount : amount.centAmount) / Math.pow(10, digits);
  try {
    return new Intl.NumberFormat(locale, {
      style: "currency",
      currency: amount.currencyCode,
      minimumFractionDigits: Math.min(amount.fractionDigits, digits),
      maximumFractionDigits: digits,
    }).format(value);
  } catch (error) {
    return amount.formatted; // the server's CLDR rendering when the browser lacks the locale
  }
}

// The agent reads times in their own language, in the market's time zone (named when it differs).
export function dateTime(iso, timeZone, style) {
  if (!iso) {
    return "";
  }
  const options = style === "date" ? { dateStyle: "medium" } : { dateStyle: "medium", timeStyle: "short" };
  try {
    return new Intl.DateTimeFormat(uiLocale(), { ...options, timeZone: timeZone || undefined }).format(new Date(iso));
  } catch (error) {
    return iso;
  }
}

export function clockTime(iso) {
  try {
    return new Intl.DateTimeFormat(uiLocale(), { timeStyle: "medium" }).format(new Date(iso));
  } catch (error) {
    return iso;
  }
}

function uiLocale() {
  return currentLanguage() === "de" ? "de-DE" : "en-GB";
}

export function addressLines(address) {
  if (!address) {
    return [];
  }
  const name = [address.firstName, address.lastName].filter(Boolean).join(" ");
  const street = [address.streetName, address.streetNumber].filter(Boolean).join(" ");
  const city = [address.postalCode, address.city].filter(Boolean).join(" ");
  return [address.company, name, street, address.additionalStreetInfo, city, address.country].filter(Boolean);
}
