"""Static facts the seeded data is drawn from: markets, products, carriers, workflow states, custom types.

Kept apart from `seed.py` so the generator reads as a sequence of decisions and this module as a table
an engineer can extend (a new market is one `Market` entry).
"""

from typing import Final, NamedTuple


class TaxRule(NamedTuple):
    name: str
    rate: str  # decimal text, so tax arithmetic stays exact
    included_in_price: bool


class City(NamedTuple):
    city: str
    postal_code: str
    area_code: str
    region: str | None = None
    state: str | None = None


class PaymentMethod(NamedTuple):
    payment_interface: str
    method: str
    name: dict[str, str]
    weight: int


class Market(NamedTuple):
    store_key: str
    store_name: dict[str, str]
    country: str
    currency: str
    locale: str
    languages: tuple[str, ...]
    time_zone: str
    order_prefix: str
    order_base: int
    standard_tax: TaxRule
    reduced_tax: TaxRule
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    # Latin spellings used to build e-mail addresses (same index as the name tuples).
    first_names_latin: tuple[str, ...]
    last_names_latin: tuple[str, ...]
    salutations: tuple[str, ...]
    cities: tuple[City, ...]
    streets: tuple[str, ...]
    phone_formats: tuple[str, ...]
    shipping_method_keys: tuple[str, ...]
    payment_methods: tuple[PaymentMethod, ...]
    email_domains: tuple[str, ...]
    customer_count: int
    order_count: int


# `#` in a phone format is a random digit; `{area}` is the city's area code.
MARKETS: Final[tuple[Market, ...]] = (
    Market(
        store_key="de-store",
        store_name={"de": "Deutschland", "en": "Germany"},
        country="DE",
        currency="EUR",
        locale="de-DE",
        languages=("de", "en"),
        time_zone="Europe/Berlin",
        order_prefix="DE-",
        order_base=100000,
        standard_tax=TaxRule("19% MwSt.", "0.19", True),
        reduced_tax=TaxRule("7% MwSt.", "0.07", True),
        first_names=(
            "Anna",
            "Lukas",
            "Sophie",
            "Maximilian",
            "Marie",
            "Jonas",
            "Lea",
            "Felix",
            "Hannah",
            "Paul",
            "Mia",
            "Leon",
            "Emilia",
            "Finn",
            "Clara",
            "Jürgen",
            "Björn",
            "Käthe",
            "Özlem",
            "Zoë",
        ),
        last_names=(
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Meyer",
            "Wagner",
            "Becker",
            "Schulz",
            "Hoffmann",
            "Koch",
            "Bauer",
            "Richter",
            "Klein",
            "Wolf",
            "Schröder",
            "Neumann",
            "Schwarz",
            "Zimmermann",
            "Braun",
            "Krüger",
            "Hartmann",
            "Lange",
            "Werner",
            "Krause",
            "Lehmann",
            "Yılmaz",
        ),
        first_names_latin=(
            "anna",
            "lukas",
            "sophie",
            "maximilian",
            "marie",
            "jonas",
            "lea",
            "felix",
            "hannah",
            "paul",
            "mia",
            "leon",
            "emilia",
            "finn",
            "clara",
            "juergen",
            "bjoern",
            "kaethe",
            "oezlem",
            "zoe",
        ),
        last_names_latin=(
            "mueller",
            "schmidt",
            "schneider",
            "fischer",
            "weber",
            "meyer",
            "wagner",
            "becker",
            "schulz",
            "hoffmann",
            "koch",
            "bauer",
            "richter",
            "klein",
            "wolf",
            "schroeder",
            "neumann",
            "schwarz",
            "zimmermann",
            "braun",
            "krueger",
            "hartmann",
            "lange",
            "werner",
            "krause",
            "lehmann",
            "yilmaz",
        ),
        salutations=("Herr", "Frau", ""),
        cities=(
            City("Berlin", "10115", "30"),
            City("Hamburg", "20095", "40"),
            City("München", "80331", "89", region="Bayern"),
            City("Köln", "50667", "221"),
            City("Frankfurt am Main", "60311", "69", region="Hessen"),
            City("Stuttgart", "70173", "711"),
            City("Leipzig", "04109", "341"),
            City("Dresden", "01067", "351"),
        ),
        streets=(
            "Hauptstraße",
            "Bahnhofstraße",
            "Gartenweg",
            "Schillerstraße",
            "Goethestraße",
            "Lindenallee",
            "Friedrichstraße",
            "Am Markt",
            "Kastanienweg",
            "Mühlenweg",
        ),
        phone_formats=("+49 {area} #######", "0{area} ######", "0151-#######", "+49 (0)171 #######", "0176 ########"),
        shipping_method_keys=("dhl-standard", "dhl-express", "dpd-classic"),
        payment_methods=(
            PaymentMethod("adyen", "CREDIT_CARD", {"en": "Credit card", "de": "Kreditkarte"}, 5),
            PaymentMethod("paypal", "PAYPAL", {"en": "PayPal", "de": "PayPal"}, 4),
            PaymentMethod("klarna", "KLARNA_PAY_LATER", {"en": "Pay later (Klarna)", "de": "Rechnung (Klarna)"}, 3),
            PaymentMethod("adyen", "SEPA_DIRECT_DEBIT", {"en": "Direct debit", "de": "Lastschrift"}, 2),
        ),
        email_domains=("example.com", "example.org", "mail.example", "web.example"),
        customer_count=34,
        order_count=160,
    ),
    Market(
        store_key="us-store",
        store_name={"en": "United States", "es": "Estados Unidos"},
        country="US",
        currency="USD",
        locale="en-US",
        languages=("en", "es"),
        time_zone="America/Los_Angeles",
        order_prefix="US-",
        order_base=200000,
        # US prices are net; the rate is a representative combined sales tax, not one per state.
        standard_tax=TaxRule("Sales Tax", "0.0725", False),
        reduced_tax=TaxRule("Sales Tax (groceries)", "0.0", False),
        first_names=(
            "James",
            "Mary",
            "Robert",
            "Patricia",
            "Michael",
            "Jennifer",
            "William",
            "Linda",
            "David",
            "Elizabeth",
            "Carlos",
            "María",
            "Wei",
            "Aisha",
            "Tyler",
            "Madison",
        ),
        last_names=(
            "Smith",
            "Johnson",
            "Williams",
            "Brown",
            "Jones",
            "Garcia",
            "Miller",
            "Davis",
            "Rodriguez",
            "Martinez",
            "Hernandez",
            "Lopez",
            "Nguyen",
            "Kim",
            "O'Brien",
            "Washington",
        ),
        first_names_latin=(
            "james",
            "mary",
            "robert",
            "patricia",
            "michael",
            "jennifer",
            "william",
            "linda",
            "david",
            "elizabeth",
            "carlos",
            "maria",
            "wei",
            "aisha",
            "tyler",
            "madison",
        ),
        last_names_latin=(
            "smith",
            "johnson",
            "williams",
            "brown",
            "jones",
            "garcia",
            "miller",
            "davis",
            "rodriguez",
            "martinez",
            "hernandez",
            "lopez",
            "nguyen",
            "kim",
            "obrien",
            "washington",
        ),
        salutations=("Mr.", "Ms.", "Mx.", ""),
        cities=(
            City("San Francisco", "94103", "415", state="CA"),
            City("Seattle", "98101", "206", state="WA"),
            City("Austin", "78701", "512", state="TX"),
            City("New York", "10001", "212", state="NY"),
            City("Chicago", "60601", "312", state="IL"),
            City("Denver", "80202", "303", state="CO"),
            City("Boston", "02108", "617", state="MA"),
            City("Portland", "97201", "503", state="OR"),
        ),
        streets=("Market Street", "Main Street", "Oak Avenue", "Pine Street", "Maple Drive", "Broadway", "Elm Street"),
        # 555-01xx is the range reserved for fiction.
        phone_formats=("({area}) 555-01##", "+1 {area}-555-01##", "{area}.555.01##", "1-{area}-555-01##"),
        shipping_method_keys=("ups-ground", "fedex-2day", "usps-priority"),
        payment_methods=(
            PaymentMethod("stripe", "CREDIT_CARD", {"en": "Credit card", "es": "Tarjeta de crédito"}, 6),
            PaymentMethod("paypal", "PAYPAL", {"en": "PayPal"}, 3),
            PaymentMethod("stripe", "APPLE_PAY", {"en": "Apple Pay"}, 2),
        ),
        email_domains=("example.com", "example.net", "shop.example"),
        customer_count=28,
        order_count=130,
    ),
    Market(
        store_key="jp-store",
        store_name={"ja": "日本", "en": "Japan"},
        country="JP",
        currency="JPY",
        locale="ja-JP",
        languages=("ja", "en"),
        time_zone="Asia/Tokyo",
        order_prefix="JP-",
        order_base=300000,
        standard_tax=TaxRule("消費税 10%", "0.10", True),
        reduced_tax=TaxRule("軽減税率 8%", "0.08", True),
        first_names=("太郎", "花子", "翔太", "陽菜", "大輝", "美咲", "健一", "由美", "蓮", "結衣"),
        last_names=("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"),
        first_names_latin=("taro", "hanako", "shota", "hina", "daiki", "misaki", "kenichi", "yumi", "ren", "yui"),
        last_names_latin=(
            "sato",
            "suzuki",
            "takahashi",
            "tanaka",
            "ito",
            "watanabe",
            "yamamoto",
            "nakamura",
            "kobayashi",
            "kato",
        ),
        salutations=("",),
        cities=(
            City("渋谷区", "150-0002", "3", region="東京都"),
            City("大阪市北区", "530-0001", "6", region="大阪府"),
            City("横浜市西区", "220-0012", "45", region="神奈川県"),
            City("名古屋市中村区", "450-0002", "52", region="愛知県"),
            City("福岡市博多区", "812-0011", "92", region="福岡県"),
        ),
        streets=("神南1丁目", "梅田3丁目", "みなとみらい2丁目", "名駅1丁目", "博多駅中央街"),
        phone_formats=("0{area}-####-####", "+81 90 #### ####", "090-####-####", "080########"),
        shipping_method_keys=("yamato-takkyubin", "yamato-cool"),
        payment_methods=(
            PaymentMethod("gmo-pg", "CREDIT_CARD", {"ja": "クレジットカード", "en": "Credit card"}, 5),
            PaymentMethod("gmo-pg", "KONBINI", {"ja": "コンビニ払い", "en": "Convenience store"}, 3),
            PaymentMethod("gmo-pg", "CASH_ON_DELIVERY", {"ja": "代金引換"}, 2),
        ),
        email_domains=("example.jp", "example.com", "mail.example"),
        customer_count=16,
        order_count=80,
    ),
    Market(
        store_key="ch-store",
        store_name={"de": "Schweiz", "fr": "Suisse", "it": "Svizzera", "en": "Switzerland"},
        country="CH",
        currency="CHF",
        locale="de-CH",
        languages=("de", "fr", "it", "en"),
        time_zone="Europe/Zurich",
        order_prefix="CH-",
        order_base=400000,
        standard_tax=TaxRule("MWST 8.1%", "0.081", True),
        reduced_tax=TaxRule("MWST 2.6%", "0.026", True),
        first_names=("Luca", "Noah", "Lena", "Nina", "Elias", "Léa", "Matteo", "Giulia", "Samuel", "Chloé"),
        last_names=(
            "Meier",
            "Schmid",
            "Keller",
            "Huber",
            "Steiner",
            "Gerber",
            "Brunner",
            "Rossi",
            "Favre",
            "Bernasconi",
        ),
        first_names_latin=("luca", "noah", "lena", "nina", "elias", "lea", "matteo", "giulia", "samuel", "chloe"),
        last_names_latin=(
            "meier",
            "schmid",
            "keller",
            "huber",
            "steiner",
            "gerber",
            "brunner",
            "rossi",
            "favre",
            "bernasconi",
        ),
        salutations=("Herr", "Frau", "Madame", "Monsieur"),
        cities=(
            City("Zürich", "8001", "44", region="ZH"),
            City("Bern", "3011", "31", region="BE"),
            City("Basel", "4051", "61", region="BS"),
            City("Genève", "1201", "22", region="GE"),
            City("Lugano", "6900", "91", region="TI"),
        ),
        streets=("Bahnhofstrasse", "Rue du Rhône", "Via Nassa", "Marktgasse", "Seestrasse"),
        phone_formats=("+41 {area} ### ## ##", "0{area} ### ## ##", "079 ### ## ##"),
        shipping_method_keys=("swisspost-priority", "dhl-express"),
        payment_methods=(
            PaymentMethod("datatrans", "TWINT", {"de": "TWINT", "fr": "TWINT", "en": "TWINT"}, 4),
            PaymentMethod("datatrans", "CREDIT_CARD", {"de": "Kreditkarte", "fr": "Carte de crédit", "en": "Card"}, 4),
            PaymentMethod("datatrans", "POSTFINANCE", {"de": "PostFinance Card"}, 2),
        ),
        email_domains=("example.ch", "example.com"),
        customer_count=12,
        order_count=40,
    ),
    Market(
        store_key="kw-store",
        store_name={"ar": "الكويت", "en": "Kuwait"},
        country="KW",
        currency="KWD",
        locale="ar-KW",
        languages=("ar", "en"),
        time_zone="Asia/Kuwait",
        order_prefix="KW-",
        order_base=500000,
        standard_tax=TaxRule("No VAT", "0", True),
        reduced_tax=TaxRule("No VAT", "0", True),
        first_names=("أحمد", "فاطمة", "يوسف", "نورة", "عبدالله", "مريم"),
        last_names=("الصباح", "المطيري", "العجمي", "الرشيدي", "العنزي", "الكندري"),
        first_names_latin=("ahmad", "fatima", "yousef", "noura", "abdullah", "maryam"),
        last_names_latin=("alsabah", "almutairi", "alajmi", "alrashidi", "alenezi", "alkandari"),
        salutations=("",),
        cities=(
            City("Kuwait City", "15000", "2", region="Al Asimah"),
            City("Salmiya", "22000", "2", region="Hawalli"),
        ),
        streets=("Block 3, Street 12", "Block 10, Salem Al Mubarak Street", "Block 5, Gulf Road"),
        phone_formats=("+965 2### ####", "+965 9### ####", "9#######"),
        shipping_method_keys=("dhl-express-kw",),
        payment_methods=(
            PaymentMethod("tap", "KNET", {"ar": "كي نت", "en": "KNET"}, 3),
            PaymentMethod("tap", "CREDIT_CARD", {"ar": "بطاقة ائتمان", "en": "Credit card"}, 2),
        ),
        email_domains=("example.com", "example.net"),
        customer_count=5,
        order_count=12,
    ),
)

MARKETS_BY_STORE: Final = {market.store_key: market for market in MARKETS}

# Fractions of a unit per currency, as ISO 4217 defines them (JPY has none, KWD three).
FRACTION_DIGITS: Final = {"EUR": 2, "USD": 2, "JPY": 0, "CHF": 2, "KWD": 3}


class Product(NamedTuple):
    sku: str
    key: str
    # Deliberately uneven: some names lack the store language (fallback), some use region keys.
    name: dict[str, str]
    base_eur_cents: int
    reduced_tax: bool
    stores: tuple[str, ...]
    color: str | None = None


ALL_STORES: Final = tuple(market.store_key for market in MARKETS)
WESTERN: Final = ("de-store", "us-store", "ch-store")

PRODUCTS: Final[tuple[Product, ...]] = (
    Product(
        "TSHIRT-ORG-M",
        "organic-tshirt",
        {
            "en": "Organic Cotton T-Shirt",
            "de": "Bio-Baumwoll-T-Shirt",
            "ja": "オーガニックコットンTシャツ",
            "fr": "T-shirt en coton bio",
            "ar": "قميص قطن عضوي",
        },
        2499,
        False,
        ALL_STORES,
        "white",
    ),
    Product(
        "HOODIE-GRY-L",
        "hoodie-grey",
        {"en": "Heather Grey Hoodie", "de": "Kapuzenpullover Grau meliert", "ja": "パーカー（杢グレー）"},
        5999,
        False,
        ALL_STORES,
        "grey",
    ),
    Product(
        "JEANS-SLIM-32",
        "slim-jeans",
        {"en": "Slim Fit Jeans", "de": "Slim-Fit-Jeans", "fr": "Jean coupe slim", "it": "Jeans slim fit"},
        7999,
        False,
        WESTERN,
        "indigo",
    ),
    Product(
        "SNEAKER-WHT-42",
        "white-sneaker",
        {"en": "Leather Sneaker", "de": "Leder-Sneaker", "ja": "レザースニーカー", "es": "Zapatilla de piel"},
        8999,
        False,
        ALL_STORES,
        "white",
    ),
    Product(
        "SOCKS-3PK",
        "socks-3pack",
        {"en": "Socks, 3-pack", "de": "Socken im 3er-Pack", "ja": "ソックス3足組"},
        1299,
        False,
        ALL_STORES,
    ),
    Product(
        "RAINJACKET-NVY-M",
        "rain-jacket",
        {"en": "Packable Rain Jacket", "de": "Packbare Regenjacke", "fr": "Veste de pluie compacte"},
        12999,
        False,
        WESTERN,
        "navy",
    ),
    Product(
        "BACKPACK-20L",
        "backpack-20l",
        {"en": "Daypack 20 L", "de": "Tagesrucksack 20 L", "ja": "デイパック 20L", "it": "Zaino 20 L"},
        6999,
        False,
        ALL_STORES,
    ),
    Product(
        "WATERBOTTLE-750",
        "water-bottle",
        {"en": "Insulated Bottle 750 ml", "de": "Isolierflasche 750 ml", "ja": "保冷ボトル 750ml"},
        1999,
        False,
        ALL_STORES,
    ),
    Product(
        "COFFEE-BEANS-1KG",
        "coffee-beans",
        {"en": "Espresso Beans 1 kg", "de": "Espressobohnen 1 kg", "it": "Caffè in grani 1 kg"},
        2290,
        True,
        WESTERN,
    ),
    Product(
        "TEA-SENCHA-100G",
        "sencha-tea",
        {"en": "Sencha Green Tea 100 g", "de": "Grüner Tee Sencha 100 g", "ja": "静岡煎茶 100g"},
        1290,
        True,
        ALL_STORES,
    ),
    Product(
        "BOOK-COOKING-DE",
        "cookbook",
        {"de": "Das große Kochbuch", "en": "The Big Cookbook"},
        2995,
        True,
        ("de-store", "ch-store"),
    ),
    Product(
        "HEADPHONES-BT",
        "bt-headphones",
        {
            "en": "Wireless Noise-Cancelling Headphones",
            "de": "Kabellose Kopfhörer mit Geräuschunterdrückung",
            "ja": "ワイヤレスノイズキャンセリングヘッドホン",
            "ar": "سماعات لاسلكية",
        },
        14999,
        False,
        ALL_STORES,
        "black",
    ),
    Product(
        "USB-C-CABLE-2M",
        "usb-c-cable",
        {"en": "USB-C Cable 2 m", "de": "USB-C-Kabel 2 m", "ja": "USB-Cケーブル 2m"},
        1499,
        False,
        ALL_STORES,
    ),
    Product("DESK-LAMP-LED", "desk-lamp", {"en": "LED Desk Lamp", "de": "LED-Schreibtischlampe"}, 4999, False, WESTERN),
    Product(
        "YOGA-MAT",
        "yoga-mat",
        {"en": "Yoga Mat", "de": "Yogamatte", "ja": "ヨガマット", "es": "Esterilla de yoga"},
        3999,
        False,
        ALL_STORES,
        "green",
    ),
    Product(
        "CHEF-KNIFE-20",
        "chef-knife",
        {"en": "Chef's Knife 20 cm", "de": "Kochmesser 20 cm", "ja": "牛刀 20cm"},
        8900,
        False,
        ("de-store", "us-store", "jp-store", "ch-store"),
    ),
    # English only: exercises the locale fallback in every non-English store.
    Product("UMBRELLA-COMPACT", "compact-umbrella", {"en": "Compact Umbrella"}, 2499, False, ALL_STORES, "black"),
    Product(
        "SCARF-WOOL",
        "merino-scarf",
        {"en": "Merino Wool Scarf", "de-DE": "Merino-Wollschal", "de-CH": "Merino-Wollschal", "fr-CH": "Écharpe"},
        4499,
        False,
        WESTERN,
        "burgundy",
    ),
    Product(
        "CANDLE-SOY",
        "soy-candle",
        {"en-US": "Soy Wax Candle", "en": "Soy Candle", "es": "Vela de soja"},
        1899,
        False,
        ("us-store", "de-store"),
    ),
    Product(
        "SUNGLASSES-POL",
        "sunglasses",
        {"en": "Polarized Sunglasses", "de": "Polarisierte Sonnenbrille"},
        11999,
        False,
        ALL_STORES,
    ),
    Product(
        "WALLET-LEATHER",
        "leather-wallet",
        {"en": "Leather Wallet", "de": "Lederportemonnaie", "ja": "レザーウォレット", "it": "Portafoglio in pelle"},
        4999,
        False,
        ALL_STORES,
        "brown",
    ),
    Product(
        "MATCHA-30G",
        "matcha",
        {"ja": "宇治抹茶 30g", "en": "Uji Matcha 30 g"},
        1890,
        True,
        ("jp-store", "us-store"),
    ),
    Product("YUKATA-NAVY", "yukata", {"ja": "浴衣（紺）", "en": "Yukata, navy"}, 8990, False, ("jp-store",), "navy"),
    Product(
        "CHOCOLATE-SWISS",
        "swiss-chocolate",
        {
            "de": "Schweizer Schokolade",
            "fr": "Chocolat suisse",
            "it": "Cioccolato svizzero",
            "en": "Swiss Chocolate",
        },
        790,
        True,
        ("ch-store", "de-store"),
    ),
    Product(
        "WATCH-AUTO",
        "automatic-watch",
        {"en": "Automatic Watch", "de": "Automatikuhr", "ja": "自動巻き腕時計"},
        49900,
        False,
        ALL_STORES,
    ),
    Product(
        "DATES-PREMIUM", "premium-dates", {"ar": "تمر فاخر", "en": "Premium Dates 1 kg"}, 1590, True, ("kw-store",)
    ),
    Product("OUD-PERFUME", "oud-perfume", {"ar": "عطر العود", "en": "Oud Perfume 50 ml"}, 15900, False, ("kw-store",)),
)

# Priced per piece with five decimals, as bulk hardware is; only the high-precision anchor order uses it.
HIGH_PRECISION_PRODUCT: Final = Product(
    "SCREW-A2-4X30",
    "stainless-screw",
    {"de": "Edelstahlschraube A2 4×30 (Stück)", "en": "Stainless Steel Screw A2 4×30 (each)"},
    0,
    False,
    ("de-store",),
)


class Carrier(NamedTuple):
    name: str
    provider: str
    tracking_format: str  # `#` digit, `A` uppercase letter or digit


CARRIERS: Final = {
    "DHL": Carrier("DHL", "shipcloud", "00340434######"),
    "DHL Express": Carrier("DHL", "DHL Express", "JD0146000#####"),
    "DPD": Carrier("DPD", "shipcloud", "0###########"),
    "UPS": Carrier("UPS", "EasyPost", "1ZAAAAAA03########"),
    "FedEx": Carrier("FedEx", "EasyPost", "7#########"),
    "USPS": Carrier("USPS", "EasyPost", "9400111#############"),
    "Yamato": Carrier("Yamato", "Yamato B2 Cloud", "4####-####-####"),
    "Swiss Post": Carrier("Swiss Post", "Die Post", "99.60.######.########"),
}


class ShippingMethodSpec(NamedTuple):
    key: str
    name: str
    description: dict[str, str]
    carrier: str
    prices: dict[str, int]
    free_above: dict[str, int]


SHIPPING_METHODS: Final[tuple[ShippingMethodSpec, ...]] = (
    ShippingMethodSpec(
        "dhl-standard",
        "DHL Paket",
        {"de": "Standardversand mit DHL", "en": "DHL standard"},
        "DHL",
        {"EUR": 495},
        {"EUR": 5000},
    ),
    ShippingMethodSpec(
        "dhl-express",
        "DHL Express",
        {"de": "Expressversand am nächsten Werktag", "en": "Next-day express"},
        "DHL Express",
        {"EUR": 1290, "CHF": 1900},
        {},
    ),
    ShippingMethodSpec(
        "dpd-classic", "DPD Classic", {"de": "DPD Classic", "en": "DPD Classic"}, "DPD", {"EUR": 450}, {"EUR": 6000}
    ),
    ShippingMethodSpec(
        "ups-ground", "UPS Ground", {"en": "UPS Ground, 3-5 business days"}, "UPS", {"USD": 799}, {"USD": 7500}
    ),
    ShippingMethodSpec("fedex-2day", "FedEx 2Day", {"en": "FedEx 2Day"}, "FedEx", {"USD": 1999}, {}),
    ShippingMethodSpec("usps-priority", "USPS Priority Mail", {"en": "USPS Priority Mail"}, "USPS", {"USD": 895}, {}),
    ShippingMethodSpec(
        "yamato-takkyubin",
        "宅急便",
        {"ja": "ヤマト運輸 宅急便", "en": "Yamato TA-Q-BIN"},
        "Yamato",
        {"JPY": 800},
        {"JPY": 10000},
    ),
    ShippingMethodSpec("yamato-cool", "クール宅急便", {"ja": "クール宅急便"}, "Yamato", {"JPY": 1200}, {}),
    ShippingMethodSpec(
        "swisspost-priority",
        "PostPac Priority",
        {"de": "PostPac Priority", "fr": "PostPac Priority"},
        "Swiss Post",
        {"CHF": 900},
        {"CHF": 10000},
    ),
    ShippingMethodSpec(
        "dhl-express-kw",
        "DHL Express",
        {"en": "DHL Express", "ar": "دي إتش إل إكسبريس"},
        "DHL Express",
        {"KWD": 2500},
        {},
    ),
)

SHIPPING_METHODS_BY_KEY: Final = {spec.key: spec for spec in SHIPPING_METHODS}


class StateSpec(NamedTuple):
    key: str
    type: str
    name: dict[str, str]
    initial: bool
    built_in: bool
    transitions: tuple[str, ...]


STATES: Final[tuple[StateSpec, ...]] = (
    StateSpec(
        "Initial",
        "LineItemState",
        {"en": "Initial", "de": "Neu", "ja": "受付済み", "fr": "Initial"},
        True,
        True,
        ("picked", "backordered"),
    ),
    StateSpec(
        "picked",
        "LineItemState",
        {"en": "Picked", "de": "Kommissioniert", "ja": "ピッキング済み"},
        False,
        False,
        ("packed",),
    ),
    StateSpec(
        "packed", "LineItemState", {"en": "Packed", "de": "Verpackt", "ja": "梱包済み"}, False, False, ("shipped",)
    ),
    StateSpec(
        "shipped",
        "LineItemState",
        {"en": "Shipped", "de": "Versendet", "ja": "発送済み", "fr": "Expédié"},
        False,
        False,
        ("delivered", "returned"),
    ),
    StateSpec(
        "delivered",
        "LineItemState",
        {"en": "Delivered", "de": "Zugestellt", "ja": "配達完了"},
        False,
        False,
        ("returned",),
    ),
    StateSpec("returned", "LineItemState", {"en": "Returned", "de": "Retourniert", "ja": "返品済み"}, False, False, ()),
    # No Japanese name on purpose: exercises name fallback for workflow states.
    StateSpec("backordered", "LineItemState", {"en": "Backordered", "de": "Nachbestellt"}, False, False, ("picked",)),
    StateSpec(
        "order-review",
        "OrderState",
        {"en": "Manual review", "de": "Manuelle Prüfung", "ja": "手動確認中"},
        True,
        False,
        ("order-fulfillment", "order-on-hold"),
    ),
    StateSpec(
        "order-fulfillment",
        "OrderState",
        {"en": "In fulfilment", "de": "In Bearbeitung", "ja": "出荷準備中"},
        False,
        False,
        ("order-on-hold", "order-escalated"),
    ),
    StateSpec(
        "order-on-hold", "OrderState", {"en": "On hold", "de": "Angehalten"}, False, False, ("order-fulfillment",)
    ),
    StateSpec(
        "order-escalated",
        "OrderState",
        {
            "en": "Escalated to customer service",
            "de": "An Kundenservice eskaliert",
            "ja": "カスタマーサービスへエスカレーション",
        },
        False,
        False,
        (),
    ),
    StateSpec(
        "payment-settled", "PaymentState", {"en": "Settled", "de": "Abgerechnet"}, False, False, ("payment-disputed",)
    ),
    StateSpec("payment-disputed", "PaymentState", {"en": "Disputed", "de": "Angefochten"}, False, False, ()),
)


class ChannelSpec(NamedTuple):
    key: str
    roles: tuple[str, ...]
    name: dict[str, str]
    country: str
    city: str


CHANNELS: Final[tuple[ChannelSpec, ...]] = (
    ChannelSpec(
        "web-distribution",
        ("ProductDistribution",),
        {"en": "Online shop", "de": "Onlineshop", "ja": "オンラインストア"},
        "DE",
        "Berlin",
    ),
    ChannelSpec("de-warehouse", ("InventorySupply",), {"en": "Warehouse Erfurt", "de": "Lager Erfurt"}, "DE", "Erfurt"),
    ChannelSpec("us-warehouse", ("InventorySupply",), {"en-US": "Reno Fulfillment Center"}, "US", "Reno"),
    ChannelSpec("jp-warehouse", ("InventorySupply",), {"ja": "千葉物流センター", "en": "Chiba DC"}, "JP", "千葉市"),
    ChannelSpec("ch-warehouse", ("InventorySupply",), {"de": "Lager Zürich", "fr": "Entrepôt Zurich"}, "CH", "Zürich"),
    ChannelSpec("kw-warehouse", ("InventorySupply",), {"en": "Kuwait Hub", "ar": "مركز الكويت"}, "KW", "Kuwait City"),
)

WAREHOUSE_BY_STORE: Final = {
    "de-store": "de-warehouse",
    "us-store": "us-warehouse",
    "jp-store": "jp-warehouse",
    "ch-store": "ch-warehouse",
    "kw-store": "kw-warehouse",
}

CUSTOMER_GROUPS: Final = (
    ("standard", "Standard"),
    ("vip", "VIP"),
    ("employee", "Employees"),
    ("b2b", "Business customers"),
)


class DiscountCodeSpec(NamedTuple):
    code: str
    name: dict[str, str]
    percent: int
    stores: tuple[str, ...]


DISCOUNT_CODES: Final[tuple[DiscountCodeSpec, ...]] = (
    DiscountCodeSpec(
        "WELCOME10", {"en": "Welcome 10 %", "de": "Willkommen 10 %"}, 10, ("de-store", "ch-store", "us-store")
    ),
    DiscountCodeSpec(
        "SUMMER15", {"en": "Summer sale 15 %", "de": "Sommerschlussverkauf 15 %"}, 15, ("de-store", "us-store")
    ),
    DiscountCodeSpec("VIP20", {"en": "VIP 20 %"}, 20, ("de-store", "us-store", "jp-store", "ch-store")),
    DiscountCodeSpec("SHINNEN5", {"ja": "新年セール 5%", "en": "New Year 5 %"}, 5, ("jp-store",)),
)


class FieldSpec(NamedTuple):
    name: str
    label: dict[str, str]
    type: dict[str, object]


def _enum(*values: tuple[str, str]) -> dict[str, object]:
    return {"name": "Enum", "values": [{"key": key, "label": label} for key, label in values]}


def _localized_enum(*values: tuple[str, dict[str, str]]) -> dict[str, object]:
    return {"name": "LocalizedEnum", "values": [{"key": key, "label": label} for key, label in values]}


class TypeSpec(NamedTuple):
    key: str
    name: dict[str, str]
    resource_type_ids: tuple[str, ...]
    fields: tuple[FieldSpec, ...]


TYPES: Final[tuple[TypeSpec, ...]] = (
    TypeSpec(
        "order-support",
        {"en": "Order support fields", "de": "Kundenservice-Felder"},
        ("order",),
        (
            FieldSpec("novomindTicketId", {"en": "novomind ticket", "de": "novomind-Ticket"}, {"name": "String"}),
            FieldSpec(
                "giftMessage",
                {"en": "Gift message", "de": "Geschenknachricht", "ja": "ギフトメッセージ"},
                {"name": "String"},
            ),
            FieldSpec(
                "deliveryInstructions",
                {"en": "Delivery instructions", "de": "Lieferhinweise", "ja": "配達指示"},
                {"name": "String"},
            ),
            FieldSpec(
                "channel",
                {"en": "Sales channel", "de": "Verkaufskanal"},
                _enum(
                    ("web", "Web shop"), ("app", "Mobile app"), ("phone", "Phone order"), ("marketplace", "Marketplace")
                ),
            ),
            FieldSpec(
                "promisedDeliveryDate",
                {"en": "Promised delivery date", "de": "Zugesagter Liefertermin"},
                {"name": "Date"},
            ),
            FieldSpec("loyaltyPointsEarned", {"en": "Loyalty points earned"}, {"name": "Number"}),
        ),
    ),
    TypeSpec(
        "customer-profile",
        {"en": "Customer profile", "de": "Kundenprofil"},
        ("customer",),
        (
            FieldSpec(
                "loyaltyTier",
                {"en": "Loyalty tier", "de": "Treuestufe"},
                _enum(("bronze", "Bronze"), ("silver", "Silver"), ("gold", "Gold"), ("platinum", "Platinum")),
            ),
            FieldSpec("marketingOptIn", {"en": "Marketing consent", "de": "Werbeeinwilligung"}, {"name": "Boolean"}),
            FieldSpec(
                "preferredContactChannel",
                {"en": "Preferred contact channel", "de": "Bevorzugter Kontaktweg"},
                _localized_enum(
                    ("email", {"en": "E-mail", "de": "E-Mail", "ja": "メール"}),
                    ("phone", {"en": "Phone", "de": "Telefon", "ja": "電話"}),
                    ("chat", {"en": "Chat", "de": "Chat"}),
                ),
            ),
            FieldSpec("novomindContactId", {"en": "novomind contact"}, {"name": "String"}),
        ),
    ),
    TypeSpec(
        "store-settings",
        {"en": "Store settings"},
        ("store",),
        (
            FieldSpec("currency", {"en": "Currency"}, {"name": "String"}),
            FieldSpec("defaultLocale", {"en": "Default locale"}, {"name": "String"}),
            FieldSpec("timeZone", {"en": "Time zone"}, {"name": "String"}),
            FieldSpec("supportEmail", {"en": "Support e-mail"}, {"name": "String"}),
        ),
    ),
    TypeSpec(
        "payment-details",
        {"en": "Payment details"},
        ("payment",),
        (
            FieldSpec("cardSummary", {"en": "Card"}, {"name": "String"}),
            FieldSpec("pspAccount", {"en": "PSP merchant account"}, {"name": "String"}),
        ),
    ),
    TypeSpec(
        "line-item-options",
        {"en": "Line item options", "de": "Positionsoptionen"},
        ("line-item",),
        (FieldSpec("engraving", {"en": "Engraving", "de": "Gravur"}, {"name": "String"}),),
    ),
)

# The Type novomind-owned customer fields live on (mappings/ownership.toml). Not seeded on any customer:
# the gateway's profile sync sets it (setCustomType) on a customer's first agent write. Its fields are
# plain strings here, so a patch's value reads back as written.
SUPPORT_PROFILE_TYPE: Final = TypeSpec(
    "support-profile",
    {"en": "Support profile", "de": "Serviceprofil"},
    ("customer",),
    (
        FieldSpec("supportNote", {"en": "Support note", "de": "Servicenotiz"}, {"name": "String"}),
        FieldSpec(
            "preferredContactChannel",
            {"en": "Preferred contact channel", "de": "Bevorzugter Kontaktweg"},
            {"name": "String"},
        ),
    ),
)

GIFT_WRAP_NAME: Final = {
    "en": "Gift wrap",
    "de": "Geschenkverpackung",
    "ja": "ギフト包装",
    "fr": "Emballage cadeau",
    "es": "Envoltorio de regalo",
}
SERVICE_FEE_NAME: Final = {"en": "Service fee", "de": "Servicegebühr", "ja": "サービス料", "fr": "Frais de service"}
COD_FEE_NAME: Final = {"ja": "代引き手数料", "en": "Cash on delivery fee"}
