"""Event content of mobile sessions: (event name, event attributes) and whether profile_id is set at each event."""

from __future__ import annotations

import random

from analytics_dagster.demo.catalog import (
    APPMETRICA_EXPOSURE_EVENT,
    CURRENCY,
    ERROR_MESSAGES,
    EXPERIMENT_FLAG,
    SEARCH_QUERIES,
    SEARCH_QUERIES_WITHOUT_RESULTS,
    random_product,
)
from analytics_dagster.demo.population import ONBOARDING_PATTERN, PATTERN_NAMES, SERVER_PATTERN


def _browse_step(rnd: random.Random, out: list) -> None:
    r = rnd.random()
    if r < 0.35:
        out.append(
            ("screen_view", {"screen": rnd.choice(("home", "catalog", "category", "favorites", "profile", "promo"))})
        )
    elif r < 0.68:
        pid, cat, price = random_product(rnd)
        out.append(("product_view", {"screen": "product", "product_id": pid, "category": cat, "price": price}))
    elif r < 0.86:
        out.append(
            (
                "search",
                {"screen": "search", "query": rnd.choice(SEARCH_QUERIES), "results_count": rnd.randrange(3, 240)},
            )
        )
    elif r < 0.99:
        pid, cat, price = random_product(rnd)
        out.append(("add_to_cart", {"screen": "cart", "product_id": pid, "price": price}))
    else:
        out.append(("app_error", {"screen": "catalog", "error_message": "Image failed to load"}))


def _purchase_events(rnd: random.Random, full: bool) -> list:
    pid, cat, price = random_product(rnd)
    qty = 1 if rnd.random() < 0.8 else 2
    ev = [
        ("product_view", {"screen": "product", "product_id": pid, "category": cat, "price": price}),
        ("add_to_cart", {"screen": "cart", "product_id": pid, "price": price, "quantity": qty}),
    ]
    if full:
        ev.append(("screen_view", {"screen": "cart"}))
    ev.append(("checkout_start", {"screen": "checkout", "cart_value": price * qty, "items": qty}))
    ev.append(
        (
            "purchase",
            {
                "screen": "checkout",
                "order_id": f"ORD-{rnd.randrange(10**8, 10**9)}",
                "revenue": price * qty,
                "currency": CURRENCY,
                "items": qty,
                "payment_method": rnd.choice(("card", "card", "sbp", "google_pay")),
            },
        )
    )
    if full:
        ev.append(("screen_view", {"screen": "order_success"}))
    return ev


def mobile_session_events(rnd: random.Random, pattern: int, n: int, u: dict, i: int, first: bool) -> tuple[list, list]:
    """Mobile events (name, attributes) of a session of exactly n events and whether profile_id is set."""
    registered = u["registered"][i]
    exposed = u["exposed"][i]
    if pattern == SERVER_PATTERN:
        return [("push_opened", {"campaign": rnd.choice(("weekly_digest", "abandoned_cart", "promo"))})], [
            registered and not first
        ]
    if pattern == ONBOARDING_PATTERN:
        pre: list = [("screen_view", {"screen": "onboarding"})]
        prof = [False]
        variant = "treatment" if u["treatment"][i] else "control"
        if exposed:
            pre.append((APPMETRICA_EXPOSURE_EVENT, {"flag_key": EXPERIMENT_FLAG, "variant": variant}))
            prof.append(False)
        if registered:
            pre.append(("sign_up_start", {"screen": "sign_up", "method": "phone"}))
            prof.append(False)
            pre.append(("screen_view", {"screen": "sign_up_code"}))
            prof.append(False)
            msg = rnd.choice(ERROR_MESSAGES["signup_loop"])
            for _ in range(u["signup_loops"][i]):
                pre.append(("sign_up_error", {"screen": "sign_up", "error_message": msg}))
                prof.append(False)
            pre.append(("sign_up", {"screen": "sign_up", "method": "phone"}))
            prof.append(True)
            pre.append(("screen_view", {"screen": "profile_setup"}))
            prof.append(True)
        pre.append(("screen_view", {"screen": "welcome_quiz" if exposed and variant == "treatment" else "home"}))
        prof.append(registered)
        post = _purchase_events(rnd, False) if u["converts"][i] else []
        fill: list = []
        for _ in range(n - len(pre) - len(post)):
            _browse_step(rnd, fill)
        return pre + fill + post, prof + [registered] * (len(fill) + len(post))
    name = PATTERN_NAMES[pattern]
    if name == "browse":
        core: list = []
    elif name == "purchase":
        core = _purchase_events(rnd, True) + [("screen_view", {"screen": "orders"})]
    elif name == "payment_failure":
        pid, cat, price = random_product(rnd)
        msg = rnd.choice(ERROR_MESSAGES["payment_failure"])
        core = [
            ("product_view", {"screen": "product", "product_id": pid, "category": cat, "price": price}),
            ("add_to_cart", {"screen": "cart", "product_id": pid, "price": price, "quantity": 1}),
            ("checkout_start", {"screen": "checkout", "cart_value": price, "items": 1}),
        ]
        core += [("payment_error", {"screen": "checkout", "error_message": msg, "amount": price})] * 2
        core.append(("screen_view", {"screen": "cart"}))
    elif name == "search_no_results":
        core = [
            ("search", {"screen": "search", "query": q, "results_count": 0})
            for q in rnd.sample(SEARCH_QUERIES_WITHOUT_RESULTS, 3)
        ]
        core.append(("screen_view", {"screen": "catalog"}))
    elif name == "login_loop":
        msg = ERROR_MESSAGES["login_loop"][0]
        core = [("screen_view", {"screen": "login"})]
        core += [("login_error", {"screen": "login", "error_message": msg})] * 3
        core += [("screen_view", {"screen": "password_reset"}), ("login", {"screen": "login", "method": "phone"})]
    else:
        msg = rnd.choice(ERROR_MESSAGES["error_page"])
        scr = rnd.choice(("checkout", "orders", "catalog"))
        core = [
            ("app_error", {"screen": scr, "error_message": msg}),
            ("screen_view", {"screen": scr}),
            ("app_error", {"screen": scr, "error_message": msg}),
        ]
    head = [("screen_view", {"screen": "home"})]
    fill = []
    for _ in range(n - 1 - len(core)):
        _browse_step(rnd, fill)
    ev = head + fill + core
    return ev, [registered] * len(ev)
