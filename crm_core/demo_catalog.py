"""Static vocabularies the demo generator draws from: names, places, products."""
from __future__ import annotations

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Sophia", "Mateus", "Isabela", "Gabriel",
    "Mia", "Arjun", "Priya", "Chloé", "Léa", "Hugo", "Jonas", "Lena", "Finn", "Hannah",
    "James", "Amelia", "Oliver", "Charlotte", "Ethan", "Harper", "Mason", "Evelyn", "Aiden", "Aisha",
    "João", "Maria", "Ana", "Pedro", "Beatriz", "Rafael", "Zoë", "Sofia", "Diego", "Camila",
    "Ravi", "Ananya", "Kenji", "Yuki", "Chen", "Wei", "Fatima", "Omar", "Sara", "David",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Almeida", "Ferreira", "Lima", "Gomes",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Martin", "Bernard", "Dubois", "Moreau", "Laurent",
    "Taylor", "Wilson", "Evans", "Thomas", "Roberts", "Patel", "Sharma", "Singh", "Kumar", "Gupta",
    "Nguyen", "Kim", "Tanaka", "Wang", "Li", "Anderson", "O'Brien", "Murphy", "Walsh", "Kelly",
)
EMAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "hotmail.com")

# country, dialling code, weight, [(city, state), ...]
PLACES = (
    ("United States", "1", 0.38, (
        ("New York", "NY"), ("Los Angeles", "CA"), ("Chicago", "IL"), ("Houston", "TX"),
        ("Seattle", "WA"), ("Miami", "FL"), ("Boston", "MA"), ("Denver", "CO"), ("Austin", "TX"),
        ("San Francisco", "CA"))),
    ("Brazil", "55", 0.18, (
        ("São Paulo", "SP"), ("Rio de Janeiro", "RJ"), ("Belo Horizonte", "MG"), ("Curitiba", "PR"),
        ("Porto Alegre", "RS"))),
    ("United Kingdom", "44", 0.12, (
        ("London", "England"), ("Manchester", "England"), ("Edinburgh", "Scotland"), ("Bristol", "England"))),
    ("Germany", "49", 0.09, (("Berlin", "Berlin"), ("Munich", "Bavaria"), ("Hamburg", "Hamburg"))),
    ("France", "33", 0.07, (("Paris", "Île-de-France"), ("Lyon", "Auvergne-Rhône-Alpes"))),
    ("Canada", "1", 0.08, (("Toronto", "ON"), ("Vancouver", "BC"), ("Montreal", "QC"))),
    ("India", "91", 0.08, (("Mumbai", "MH"), ("Bengaluru", "KA"), ("Delhi", "DL"))),
)

# product id, name, category, price in cents
PRODUCTS = (
    ("SKU-1001", "Classic Cotton T-Shirt", "Apparel", 1900), ("SKU-1002", "Slim Fit Jeans", "Apparel", 5900),
    ("SKU-1003", "Merino Wool Sweater", "Apparel", 8900), ("SKU-1004", "Rain Jacket", "Apparel", 12900),
    ("SKU-1005", "Running Socks 3-pack", "Apparel", 1500), ("SKU-2001", "Trail Running Shoes", "Footwear", 11900),
    ("SKU-2002", "Leather Boots", "Footwear", 17900), ("SKU-2003", "Canvas Sneakers", "Footwear", 6500),
    ("SKU-3001", "Wireless Earbuds", "Electronics", 9900), ("SKU-3002", "Smart Watch", "Electronics", 24900),
    ("SKU-3003", "Bluetooth Speaker", "Electronics", 7900), ("SKU-3004", "USB-C Charger", "Electronics", 2900),
    ("SKU-3005", "Noise-Cancelling Headphones", "Electronics", 29900),
    ("SKU-4001", "Ceramic Mug Set", "Home", 3400), ("SKU-4002", "Linen Bed Sheets", "Home", 9900),
    ("SKU-4003", "Scented Candle", "Home", 2200), ("SKU-4004", "Cast Iron Skillet", "Home", 4500),
    ("SKU-4005", "Espresso Machine", "Home", 39900), ("SKU-5001", "Vitamin C Serum", "Beauty", 2800),
    ("SKU-5002", "Hydrating Face Cream", "Beauty", 3600), ("SKU-5003", "Shampoo & Conditioner", "Beauty", 2400),
    ("SKU-6001", "Yoga Mat", "Sports", 3900), ("SKU-6002", "Adjustable Dumbbells", "Sports", 19900),
    ("SKU-6003", "Insulated Water Bottle", "Sports", 2900), ("SKU-7001", "Hardcover Notebook", "Stationery", 1600),
    ("SKU-7002", "Fountain Pen", "Stationery", 4800), ("SKU-8001", "Organic Coffee Beans 1kg", "Grocery", 2600),
    ("SKU-8002", "Matcha Tea Tin", "Grocery", 2100), ("SKU-9001", "Building Blocks Set", "Toys", 4900),
    ("SKU-9002", "Board Game", "Toys", 3500),
)

# relative weight of each calendar month (Jan..Dec): a holiday peak and a summer dip
MONTH_WEIGHTS = (0.85, 0.75, 0.9, 0.9, 1.0, 0.85, 0.8, 0.85, 0.95, 1.05, 1.6, 1.9)
