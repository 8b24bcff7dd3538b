"""What the demo product looks like: event names, session patterns, experiment, places, devices, products.

Tests and metric checks rely on the public constants.
"""

from __future__ import annotations

import datetime as dt
import random

MAX_AGE_DAYS = 730  # cohorts older than this are no longer active (retention ~0.007 there)

EXPERIMENT_FLAG = "new-onboarding"
EXPERIMENT_VARIANTS = ("control", "treatment")
EXPERIMENT_START = dt.date(2025, 1, 1)  # users acquired on or after this day are exposed
EXPERIMENT_USER_PROPERTY = f"[Experiment] {EXPERIMENT_FLAG}"
# probability that an exposed new user completes a purchase in the exposure (first) session
EXPERIMENT_CONVERSION_RATES = {"control": 0.10, "treatment": 0.125}
AMPLITUDE_EXPOSURE_EVENT = "$exposure"
AMPLITUDE_CONVERSION_EVENT = "Purchase Completed"
APPMETRICA_EXPOSURE_EVENT = "experiment_exposure"
APPMETRICA_CONVERSION_EVENT = "purchase"
CONVERSION_EVENT = AMPLITUDE_CONVERSION_EVENT

REPLAY_PROPERTY = "[Amplitude] Session Replay ID"
REPLAY_SHARE = 0.30
AMPLITUDE_LATE_SHARE = 0.03  # share of web sessions uploaded 1-3 days late
APPMETRICA_LATE_SHARE = 0.08  # share of mobile sessions received 1-3 days late
MAX_DELAY_DAYS = 3
DUPLICATE_SHARE = 0.001  # exact duplicate JSON lines in the Amplitude export
LINKED_MOBILE_SHARE = 0.20  # mobile users whose profile_id is a web user_id
AMPLITUDE_LIBRARY = "amplitude-ts/2.11.8"
AMPLITUDE_SERVER_LIBRARY = "http/2.0"
APPMETRICA_PACKAGE = "com.example.shop"

AMPLITUDE_EVENT_TYPES = (
    "Page Viewed",
    "Button Clicked",
    "Search Performed",
    "Product Viewed",
    "Product Added to Cart",
    "Checkout Started",
    "Payment Failed",
    "Purchase Completed",
    "Error Shown",
    "Sign Up Started",
    "Sign Up Form Error",
    "Sign Up Completed",
    "Login",
    "Login Failed",
    "Password Reset Requested",
    "$identify",
    "$exposure",
    "Email Opened",  # server side (session_id -1)
    "Subscription Renewed",  # server side (session_id -1)
)
APPMETRICA_EVENT_NAMES = (
    "screen_view",
    "search",
    "product_view",
    "add_to_cart",
    "checkout_start",
    "payment_error",
    "purchase",
    "app_error",
    "sign_up_start",
    "sign_up_error",
    "sign_up",
    "login",
    "login_error",
    "experiment_exposure",
    "push_opened",
)
# session patterns of returning users: name -> (weight, minimum length, Poisson mean of extra events)
SESSION_PATTERNS = {
    "browse": (0.66, 2, 7.0),
    "purchase": (0.05, 8, 4.0),
    "payment_failure": (0.07, 7, 3.0),
    "search_no_results": (0.10, 5, 3.0),
    "login_loop": (0.07, 7, 2.0),  # anonymous users browse instead
    "error_page": (0.05, 5, 4.0),
}
# what the struggle patterns leave in error_message (for replay clustering)
ERROR_MESSAGES = {
    "payment_failure": (
        "Card declined: insufficient funds",
        "3-D Secure verification timed out",
        "Payment gateway error 502",
    ),
    "signup_loop": (
        "Password must contain at least 8 characters and a digit",
        "This email is already registered",
        "Please accept the terms of service",
    ),
    "login_loop": ("Invalid email or password",),
    "error_page": ("Something went wrong. Please reload the page", "Network request failed"),
}

# city, country, ISO, region, dma, weight, language, lat, lng, first IP octets
CITIES = (
    ("Moscow", "Russia", "RU", "Moscow", None, 30, "Russian", 55.7558, 37.6173, (95, 178, 85)),
    ("Saint Petersburg", "Russia", "RU", "St.-Petersburg", None, 13, "Russian", 59.9386, 30.3141, (95, 188, 46)),
    ("Novosibirsk", "Russia", "RU", "Novosibirsk Oblast", None, 5, "Russian", 55.0415, 82.9346, (178, 217)),
    ("Yekaterinburg", "Russia", "RU", "Sverdlovsk Oblast", None, 5, "Russian", 56.8519, 60.6122, (188, 31)),
    ("Kazan", "Russia", "RU", "Tatarstan Republic", None, 4, "Russian", 55.7887, 49.1221, (95, 176)),
    ("Nizhniy Novgorod", "Russia", "RU", "Nizhny Novgorod Oblast", None, 3, "Russian", 56.3269, 44.0059, (46, 89)),
    ("Krasnodar", "Russia", "RU", "Krasnodar Krai", None, 3, "Russian", 45.0355, 38.9753, (5, 176)),
    ("Almaty", "Kazakhstan", "KZ", "Almaty", None, 4, "Russian", 43.2220, 76.8512, (2, 37)),
    ("Minsk", "Belarus", "BY", "Minsk City", None, 3, "Russian", 53.9006, 27.5590, (37, 178)),
    ("Tashkent", "Uzbekistan", "UZ", "Tashkent", None, 2, "Russian", 41.2995, 69.2401, (84, 213)),
    ("Tbilisi", "Georgia", "GE", "Tbilisi", None, 2, "Russian", 41.7151, 44.8271, (31, 94)),
    ("Yerevan", "Armenia", "AM", "Yerevan", None, 2, "Russian", 40.1792, 44.4991, (37, 46)),
    ("Belgrade", "Serbia", "RS", "Central Serbia", None, 2, "Russian", 44.7866, 20.4489, (93, 109)),
    ("Berlin", "Germany", "DE", "Land Berlin", None, 3, "German", 52.5200, 13.4050, (77, 91)),
    ("London", "United Kingdom", "GB", "England", None, 2, "English", 51.5072, -0.1276, (81, 86)),
    ("New York", "United States", "US", "New York", "New York, NY", 3, "English", 40.7128, -74.0060, (24, 68, 72)),
    (
        "San Francisco",
        "United States",
        "US",
        "California",
        "San Francisco-Oakland-San Jose, CA",
        2,
        "English",
        37.7749,
        -122.4194,
        (98, 73),
    ),
)
CITY_WEIGHTS = [c[5] for c in CITIES]
# device_family, device_type, device_model, [(browser, version at reference day, reference day,
# days per major version, weight)], weight -- browsers update over time, users lag 0-2 versions behind
WEB_PLATFORMS = (
    (
        "Windows",
        "Windows",
        "Windows",
        (
            ("Chrome", 120, "2023-12-05", 28, 0.7),
            ("Edge", 120, "2023-12-07", 28, 0.15),
            ("Firefox", 121, "2023-12-19", 28, 0.15),
        ),
        0.45,
    ),
    ("Mac", "Mac", "Mac OS", (("Chrome", 120, "2023-12-05", 28, 0.55), ("Safari", 17, "2023-09-18", 365, 0.45)), 0.20),
    ("Apple iPhone", "Apple iPhone", "iPhone", (("Mobile Safari", 17, "2023-09-18", 365, 1.0),), 0.15),
    (
        "Android",
        "Android",
        "K",
        (("Chrome Mobile", 120, "2023-12-05", 28, 0.85), ("Samsung Internet", 23, "2023-11-01", 120, 0.15)),
        0.17,
    ),
    (
        "Linux",
        "Linux",
        "Linux",
        (("Chrome", 120, "2023-12-05", 28, 0.6), ("Firefox", 121, "2023-12-19", 28, 0.4)),
        0.03,
    ),
)
UTM_SOURCES = ("google", "yandex", "direct", "vk", "telegram", "email", "facebook")
UTM_WEIGHTS = (0.28, 0.30, 0.15, 0.09, 0.08, 0.05, 0.05)
CATEGORIES = ("shoes", "jackets", "bags", "watches", "electronics", "books", "toys", "home")
SEARCH_QUERIES = (
    "sneakers",
    "winter jacket",
    "backpack",
    "smart watch",
    "headphones",
    "lego",
    "coffee maker",
    "running shoes",
    "laptop bag",
    "kindle",
)
SEARCH_QUERIES_WITHOUT_RESULTS = (
    "sneekers nike 45.5",
    "iphone 17 pro max case titan",
    "жёлтый рюкзак",
    "ps6",
    "asdfgh",
    "vintage leica m3",
    "кроссовки детские 19 размер",
)
BUTTONS = ("Add to wishlist", "Show more", "Filter", "Sort by price", "Size guide", "Share", "Subscribe")
CONTENT_PAGES = (
    "/blog/how-to-choose-running-shoes",
    "/blog/gift-ideas",
    "/pricing",
    "/help/delivery",
    "/help/returns",
    "/account",
    "/account/orders",
    "/promo/summer-sale",
)


CURRENCY = "RUB"


def random_product(rnd: random.Random) -> tuple[int, str, int]:
    pid = rnd.randrange(1000, 1400)
    cat = CATEGORIES[pid % len(CATEGORIES)]
    price = 290 + (pid * 7919 % 120) * 50 - 1
    return pid, cat, price


ANDROID_MODELS = (
    ("Samsung", "Galaxy A54", 0.16),
    ("Samsung", "Galaxy S23", 0.08),
    ("Xiaomi", "Redmi Note 12", 0.16),
    ("Xiaomi", "Redmi Note 13 Pro", 0.08),
    ("Xiaomi", "POCO X6 Pro", 0.06),
    ("HONOR", "X8a", 0.08),
    ("realme", "C55", 0.06),
    ("Google", "Pixel 7", 0.03),
    ("TECNO", "Spark 20", 0.05),
    ("Huawei", "nova Y70", 0.04),
    ("Samsung", "Galaxy Tab A8", 0.05),
    ("Xiaomi", "Pad 6", 0.03),
)
IOS_MODELS = (
    ("Apple", "iPhone 11", 0.14),
    ("Apple", "iPhone 12", 0.14),
    ("Apple", "iPhone 13", 0.18),
    ("Apple", "iPhone 14", 0.14),
    ("Apple", "iPhone 15", 0.12),
    ("Apple", "iPhone 15 Pro", 0.08),
    ("Apple", "iPhone SE (3rd generation)", 0.06),
    ("Apple", "iPad (9th generation)", 0.08),
    ("Apple", "iPad Air (5th generation)", 0.06),
)
ANDROID_VERSIONS = (("11", 0.1), ("12", 0.17), ("13", 0.3), ("14", 0.33), ("15", 0.1))
IOS_VERSIONS = (("16.7.8", 0.12), ("17.5.1", 0.3), ("17.6.1", 0.28), ("18.0", 0.15), ("18.1.1", 0.15))
# country ISO -> (mcc, [(operator, mnc, weight)])
OPERATORS = {
    "RU": ("250", (("MTS", "1", 0.3), ("MegaFon", "2", 0.28), ("Beeline", "99", 0.25), ("Tele2", "20", 0.17))),
    "KZ": ("401", (("Beeline KZ", "1", 0.5), ("Kcell", "2", 0.5))),
    "BY": ("257", (("A1", "1", 0.5), ("MTS BY", "2", 0.5))),
    "UZ": ("434", (("Ucell", "5", 0.5), ("Beeline UZ", "4", 0.5))),
    "GE": ("282", (("Magti", "2", 0.6), ("Silknet", "1", 0.4))),
    "AM": ("283", (("Team", "1", 0.5), ("Viva", "5", 0.5))),
    "RS": ("220", (("A1 SRB", "5", 0.5), ("Yettel", "1", 0.5))),
    "DE": ("262", (("Telekom.de", "1", 0.5), ("Vodafone.de", "2", 0.5))),
    "GB": ("234", (("EE", "30", 0.5), ("Vodafone UK", "15", 0.5))),
    "US": ("310", (("T-Mobile", "260", 0.5), ("AT&T", "410", 0.5))),
}
LOCALES = {"Russian": "ru_RU", "German": "de_DE", "English": "en_US"}
TRACKERS = (
    ("", "", "", 0.55),
    ("Yandex Direct", "Yandex.Direct", "referrer", 0.2),
    ("VK Ads", "VK Ads", "fingerprint", 0.12),
    ("Google Ads", "Google Ads", "referrer", 0.08),
    ("Telegram Ads", "Telegram", "fingerprint", 0.05),
)
