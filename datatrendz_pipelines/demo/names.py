"""Small word lists the generator combines into believable (and obviously fake) values."""

from __future__ import annotations

# fmt: off
REGIONS = ("North", "South", "East", "West", "Central")
CITIES = {
    "North": ("Leeds", "York", "Newcastle", "Durham", "Sheffield"),
    "South": ("Brighton", "Southampton", "Portsmouth", "Guildford", "Canterbury"),
    "East": ("Norwich", "Cambridge", "Ipswich", "Colchester", "Peterborough"),
    "West": ("Bristol", "Bath", "Exeter", "Plymouth", "Gloucester"),
    "Central": ("Birmingham", "Coventry", "Leicester", "Nottingham", "Derby"),
}
WEB_REGION = "National"

FIRST_NAMES = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Ivy", "Leo",
    "Grace", "Arthur", "Freya", "Muhammad", "Lily", "Oscar", "Emily", "Charlie", "Sophia",
    "Jacob", "Ella", "Thomas", "Poppy", "Henry", "Evie", "William", "Chloe", "James", "Ruby",
    "Lucas", "Zara", "Ethan", "Maya", "Samuel", "Aisha", "Daniel", "Hannah", "Adam", "Sofia",
    "Ravi", "Priya", "Mateo", "Elena", "Kai", "Yuki", "Liam", "Nora", "Omar", "Layla",
)
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Khan", "Lewis", "Harris", "Martin", "Cooper", "King", "Lee",
    "Baker", "Turner", "Hill", "Ward", "Morris", "Moore", "Clark", "Singh", "Young", "Allen",
    "Scott", "Mitchell", "Kelly", "Cook", "Carter", "Price", "Bennett", "Shaw", "Chen", "Ali",
    "Murphy", "Nowak",
)
STREETS = (
    "High", "Church", "Station", "Victoria", "Park", "Mill", "Queen", "King", "Manor", "Oak",
    "Elm", "Maple", "Cedar", "Willow", "Chapel", "School", "Bridge", "Green", "Castle", "North",
    "Meadow", "Orchard", "Spring", "Albert", "York",
)
STREET_KINDS = ("Street", "Road", "Lane", "Avenue", "Close", "Way", "Gardens", "Crescent")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")

# category -> (brands, items, price range in whole currency units)
CATEGORIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[float, float]]] = {
    "apparel": (
        ("Northwind", "Urbanite", "Loomcraft", "Fieldhouse", "Kestrel"),
        (
            "T-Shirt", "Hoodie", "Jeans", "Jacket", "Dress", "Sweater", "Shirt", "Chinos", "Coat",
            "Skirt",
        ),
        (12.0, 140.0),
    ),
    "footwear": (
        ("Strideline", "Cobbleton", "Trailhawk", "Solemate"),
        (
            "Sneakers", "Boots", "Sandals", "Loafers", "Running Shoes", "Slippers",
        ),
        (25.0, 180.0),
    ),
    "accessories": (
        ("Kestrel", "Brightwell", "Carryall", "Urbanite"),
        (
            "Backpack", "Belt", "Scarf", "Cap", "Wallet", "Sunglasses", "Tote Bag", "Gloves",
        ),
        (8.0, 95.0),
    ),
    "home": (
        ("Hearthside", "Linenfold", "Casa Verde", "Brightwell"),
        (
            "Candle", "Throw Blanket", "Mug Set", "Cushion", "Table Lamp", "Vase", "Towel Set",
            "Picture Frame",
        ),
        (6.0, 150.0),
    ),
    "beauty": (
        ("Glowhaus", "Purebloom", "Velvet & Co", "Aquaria"),
        (
            "Face Cream", "Lipstick", "Shampoo", "Perfume", "Serum", "Body Lotion", "Hand Soap",
        ),
        (4.0, 75.0),
    ),
    "electronics": (
        ("Voltix", "Soundcraft", "Nimbus", "Pixelon"),
        (
            "Headphones", "Bluetooth Speaker", "Charger", "Smartwatch", "Power Bank", "Earbuds",
            "USB Cable",
        ),
        (9.0, 350.0),
    ),
}
# Share of the catalog and of demand per category, and the share of sold units returned.
CATEGORY_SHARE = {"apparel": 0.32, "footwear": 0.14, "accessories": 0.14, "home": 0.16, "beauty": 0.12, "electronics": 0.12}
RETURN_RATE = {"apparel": 0.13, "footwear": 0.1, "accessories": 0.05, "home": 0.04, "beauty": 0.02, "electronics": 0.06}
ADJECTIVES = (
    "Classic", "Essential", "Urban", "Everyday", "Premium", "Eco", "Vintage", "Sport", "Soft",
    "Heritage", "Lite", "Pro", "Studio", "Travel", "Signature",
)
COLOURS = ("Black", "White", "Navy", "Grey", "Olive", "Sand", "Red", "Blue", "Green", "Rose")
# fmt: on
