"""Event content of web sessions: (event type, event properties) and what the user's profile knows at each event."""

from __future__ import annotations

import random

from analytics_dagster.demo.catalog import (
    BUTTONS,
    CATEGORIES,
    CONTENT_PAGES,
    CURRENCY,
    ERROR_MESSAGES,
    EXPERIMENT_FLAG,
    SEARCH_QUERIES,
    SEARCH_QUERIES_WITHOUT_RESULTS,
    random_product,
)
from analytics_dagster.demo.population import ONBOARDING_PATTERN, PATTERN_NAMES, SERVER_PATTERN

# state bits of an event: user_id known, profile properties known, experiment property known
KNOWS_USER_ID, KNOWS_PROFILE, KNOWS_EXPERIMENT = 1, 2, 4


def _browse_step(rnd: random.Random, out: list) -> None:
    r = rnd.random()
    if r < 0.33:
        if rnd.random() < 0.6:
            cat = rnd.choice(CATEGORIES)
            out.append(("Page Viewed", {"page_path": f"/catalog/{cat}", "page_title": f"{cat.title()} | Shop"}))
        else:
            p = rnd.choice(CONTENT_PAGES)
            out.append(
                (
                    "Page Viewed",
                    {"page_path": p, "page_title": p.rsplit("/", 1)[-1].replace("-", " ").capitalize() + " | Shop"},
                )
            )
    elif r < 0.65:
        pid, cat, price = random_product(rnd)
        out.append(
            (
                "Product Viewed",
                {
                    "product_id": str(pid),
                    "category": cat,
                    "price": price,
                    "page_path": f"/product/{pid}",
                    "page_title": f"Product {pid} | Shop",
                },
            )
        )
    elif r < 0.80:
        q = rnd.choice(SEARCH_QUERIES)
        out.append(("Search Performed", {"query": q, "results_count": rnd.randrange(3, 240), "page_path": "/search"}))
    elif r < 0.96:
        out.append(("Button Clicked", {"button_text": rnd.choice(BUTTONS), "page_path": "/catalog"}))
    elif r < 0.99:
        pid, cat, price = random_product(rnd)
        out.append(
            (
                "Product Added to Cart",
                {"product_id": str(pid), "price": price, "quantity": 1, "cart_size": rnd.randrange(1, 4)},
            )
        )
    else:
        out.append(("Error Shown", {"error_message": "Image failed to load", "page_path": "/catalog"}))


def _landing_page(rnd: random.Random, utm: str, first: bool) -> tuple[str, dict]:
    if first and utm != "direct":
        return ("Page Viewed", {"page_path": "/", "page_title": "Shop - everything you need", "utm_source": utm})
    if rnd.random() < 0.7:
        return ("Page Viewed", {"page_path": "/", "page_title": "Shop - everything you need"})
    cat = rnd.choice(CATEGORIES)
    return ("Page Viewed", {"page_path": f"/catalog/{cat}", "page_title": f"{cat.title()} | Shop"})


def _purchase_events(rnd: random.Random, full: bool) -> list:
    pid, cat, price = random_product(rnd)
    qty = 1 if rnd.random() < 0.8 else 2
    ev = [
        (
            "Product Viewed",
            {
                "product_id": str(pid),
                "category": cat,
                "price": price,
                "page_path": f"/product/{pid}",
                "page_title": f"Product {pid} | Shop",
            },
        ),
        ("Product Added to Cart", {"product_id": str(pid), "price": price, "quantity": qty, "cart_size": qty}),
    ]
    if full:
        ev.append(("Page Viewed", {"page_path": "/cart", "page_title": "Cart | Shop"}))
    ev.append(("Checkout Started", {"cart_value": price * qty, "items": qty}))
    ev.append(
        (
            "Purchase Completed",
            {
                "order_id": f"ORD-{rnd.randrange(10**8, 10**9)}",
                "revenue": price * qty,
                "currency": CURRENCY,
                "items": qty,
                "payment_method": rnd.choice(("card", "card", "apple_pay", "paypal")),
            },
        )
    )
    if full:
        ev.append(("Page Viewed", {"page_path": "/order/success", "page_title": "Thank you! | Shop"}))
    return ev


def web_session_events(rnd: random.Random, pattern: int, n: int, u: dict, i: int, first: bool) -> tuple[list, list]:
    """Events (type, props) and state bits of a web session of exactly n events."""
    registered = u["registered"][i]
    exposed = u["exposed"][i]
    state0 = (KNOWS_USER_ID | KNOWS_PROFILE if registered and not first else 0) | (
        KNOWS_EXPERIMENT if exposed and not first else 0
    )
    ev: list = []
    if pattern == SERVER_PATTERN:
        if u["plan"][i] == "pro" and rnd.random() < 0.5:
            ev.append(("Subscription Renewed", {"plan": "pro", "revenue": 299, "currency": CURRENCY}))
        else:
            ev.append(("Email Opened", {"campaign": rnd.choice(("weekly_digest", "abandoned_cart", "promo"))}))
        return ev, [state0]
    utm = u["utm"][i]
    if pattern == ONBOARDING_PATTERN:
        st = 0
        pre: list = [_landing_page(rnd, utm, True)]
        pre_st = [st]
        variant = "treatment" if u["treatment"][i] else "control"
        if exposed:
            st |= KNOWS_EXPERIMENT
            pre.append(("$exposure", {"flag_key": EXPERIMENT_FLAG, "variant": variant}))
            pre_st.append(st)
        if registered:
            method = u["method"][i]
            pre.append(("Page Viewed", {"page_path": "/signup", "page_title": "Create account | Shop"}))
            pre_st.append(st)
            pre.append(("Sign Up Started", {"method": method}))
            pre_st.append(st)
            msg = rnd.choice(ERROR_MESSAGES["signup_loop"])
            for _ in range(u["signup_loops"][i]):
                pre.append(
                    (
                        "Sign Up Form Error",
                        {
                            "error_message": msg,
                            "field": "password" if "Password" in msg else ("email" if "email" in msg else "terms"),
                            "page_path": "/signup",
                        },
                    )
                )
                pre_st.append(st)
            st |= KNOWS_USER_ID
            pre.append(("Sign Up Completed", {"method": method}))
            pre_st.append(st)
            st |= KNOWS_PROFILE
            pre.append(("$identify", {}))
            pre_st.append(st)
        if exposed and variant == "treatment":
            pre.append(
                ("Page Viewed", {"page_path": "/welcome/quiz", "page_title": "What are you looking for? | Shop"})
            )
        else:
            pre.append(("Page Viewed", {"page_path": "/onboarding", "page_title": "Welcome | Shop"}))
        pre_st.append(st)
        post = _purchase_events(rnd, False) if u["converts"][i] else []
        fill: list = []
        for _ in range(n - len(pre) - len(post)):
            _browse_step(rnd, fill)
        ev = pre + fill + post
        return ev, pre_st + [st] * (len(fill) + len(post))
    name = PATTERN_NAMES[pattern]
    core: list
    if name == "browse":
        core = []
    elif name == "purchase":
        core = _purchase_events(rnd, True) + [
            ("Page Viewed", {"page_path": "/account/orders", "page_title": "My orders | Shop"})
        ]
    elif name == "payment_failure":
        pid, cat, price = random_product(rnd)
        msg = rnd.choice(ERROR_MESSAGES["payment_failure"])
        core = [
            (
                "Product Viewed",
                {
                    "product_id": str(pid),
                    "category": cat,
                    "price": price,
                    "page_path": f"/product/{pid}",
                    "page_title": f"Product {pid} | Shop",
                },
            ),
            ("Product Added to Cart", {"product_id": str(pid), "price": price, "quantity": 1, "cart_size": 1}),
            ("Checkout Started", {"cart_value": price, "items": 1}),
        ]
        core += [
            (
                "Payment Failed",
                {"error_message": msg, "payment_method": "card", "amount": price, "page_path": "/checkout"},
            )
        ] * 2
        core.append(("Page Viewed", {"page_path": "/cart", "page_title": "Cart | Shop"}))
    elif name == "search_no_results":
        qs = rnd.sample(SEARCH_QUERIES_WITHOUT_RESULTS, 3)
        core = [("Search Performed", {"query": q, "results_count": 0, "page_path": "/search"}) for q in qs]
        core.append(("Button Clicked", {"button_text": "Clear filters", "page_path": "/search"}))
    elif name == "login_loop":
        msg = ERROR_MESSAGES["login_loop"][0]
        core = [("Page Viewed", {"page_path": "/login", "page_title": "Sign in | Shop"})]
        core += [("Login Failed", {"error_message": msg, "method": "email", "page_path": "/login"})] * 3
        core += [("Password Reset Requested", {"page_path": "/login/reset"}), ("Login", {"method": "email"})]
    else:  # error_page
        msg = rnd.choice(ERROR_MESSAGES["error_page"])
        p = rnd.choice(("/checkout", "/account/orders", "/catalog"))
        core = [
            ("Error Shown", {"error_message": msg, "page_path": p}),
            ("Page Viewed", {"page_path": p, "page_title": "Shop"}),
            ("Error Shown", {"error_message": msg, "page_path": p}),
        ]
    head = [_landing_page(rnd, utm, False)]
    fill = []
    spare = n - 1 - len(core)
    if name in ("payment_failure", "login_loop") and spare > 0:  # struggle a bit longer
        extra = min(spare, rnd.randrange(0, 3))
        dup = core[-2] if name == "payment_failure" else core[1]
        at = len(core) - 1 if name == "payment_failure" else 2
        core = core[:at] + [dup] * extra + core[at:]
        spare -= extra
    for _ in range(spare):
        _browse_step(rnd, fill)
    ev = head + fill + core
    return ev, [state0] * len(ev)
