"""Constructed replay sessions from known behaviour groups, for tests and benchmarks of the replay stage.

Each group has its own flow (a failed payment, a sign-up form that keeps rejecting, searches without results, a
Russian-language profile page that fails to save) wrapped in shared browsing noise, so a clustering that recovers
the groups has to look past what every session has in common.
"""

from __future__ import annotations

import datetime as dt
import random

from analytics_dagster.lib.replays.sessions import ReplaySession, SessionEvent, session_event

GROUPS = ("payment_failure", "signup_errors", "search_no_results", "profile_save_ru")

_CATEGORIES = ("shoes", "jackets", "bags", "watches", "toys")


def _browse(rnd: random.Random) -> tuple[str, dict]:
    category = rnd.choice(_CATEGORIES)
    if rnd.random() < 0.5:
        return "Page Viewed", {"page_path": f"/catalog/{category}", "page_title": f"{category.title()} | Shop"}
    product = rnd.randrange(1000, 9999)
    return "Product Viewed", {"page_path": f"/product/{product}", "page_title": f"Product {product} | Shop"}


def _flow(group: str, rnd: random.Random) -> list[tuple[str, dict]]:
    if group == "payment_failure":
        message = rnd.choice(("Card declined: insufficient funds", "Payment gateway error 502"))
        failures = [("Payment Failed", {"error_message": message, "page_path": "/checkout"})] * rnd.randint(2, 3)
        return [
            ("Page Viewed", {"page_path": "/cart", "page_title": "Cart | Shop"}),
            ("Checkout Started", {"page_path": "/checkout", "page_title": "Checkout | Shop"}),
            *failures,
            ("Button Clicked", {"button_text": "Pay now", "page_path": "/checkout"}),
        ]
    if group == "signup_errors":
        message = rnd.choice(("Password must contain at least 8 characters", "This email is already registered"))
        errors = [("Sign Up Form Error", {"error_message": message, "field": "password", "page_path": "/signup"})]
        return [
            ("Page Viewed", {"page_path": "/signup", "page_title": "Create account | Shop"}),
            ("Sign Up Started", {"method": "email", "page_path": "/signup"}),
            *errors * rnd.randint(2, 4),
            ("Button Clicked", {"button_text": "Create account", "page_path": "/signup"}),
        ]
    if group == "search_no_results":
        queries = rnd.sample(("vintage lamp", "blue sofa xl", "garden gnome", "retro radio", "silk scarf"), 3)
        return [
            *[("Search Performed", {"query": q, "results_count": 0, "page_path": "/search"}) for q in queries],
            ("Button Clicked", {"button_text": "Clear filters", "page_path": "/search"}),
        ]
    if group == "profile_save_ru":
        return [
            ("Page Viewed", {"page_path": "/profile", "page_title": "Профиль и настройки"}),
            ("Button Clicked", {"button_text": "Сохранить изменения", "page_path": "/profile"}),
            ("Error Shown", {"error_message": "Не удалось сохранить настройки профиля", "page_path": "/profile"}),
            ("Button Clicked", {"button_text": "Сохранить изменения", "page_path": "/profile"}),
        ]
    raise ValueError(f"unknown group {group!r}; expected one of {GROUPS}")


def synthetic_session(group: str, index: int, start: dt.datetime, rnd: random.Random) -> ReplaySession:
    steps = [_browse(rnd) for _ in range(rnd.randint(1, 4))] + _flow(group, rnd)
    steps += [_browse(rnd) for _ in range(rnd.randint(0, 2))]
    device_id = f"synthetic-{group}-{index:04d}"
    session_id = int(start.replace(tzinfo=dt.UTC).timestamp() * 1000)
    time = start
    events = []
    for event_type, properties in steps:
        events.append(session_event(event_type, time, properties))
        time += dt.timedelta(seconds=rnd.randint(3, 40))
    return _session(device_id, session_id, events)


def _session(device_id: str, session_id: int, events: list[SessionEvent]) -> ReplaySession:
    return ReplaySession(
        replay_id=f"{device_id}/{session_id}",
        device_id=device_id,
        session_id=session_id,
        user_key=f"device:{device_id}",
        user_id=None,
        platform="Web",
        country="Russia",
        event_count=len(events),
        start=events[0].time,
        end=events[-1].time,
        events=tuple(events),
    )


def synthetic_sessions(
    count: int, *, seed: int = 7, day: dt.date = dt.date(2026, 3, 15)
) -> list[tuple[str, ReplaySession]]:
    """``count`` sessions as (group, session), groups taken in turn, starts spread over the day."""
    rnd = random.Random(seed)
    base = dt.datetime.combine(day, dt.time(6, 0))
    return [
        (
            GROUPS[i % len(GROUPS)],
            synthetic_session(GROUPS[i % len(GROUPS)], i, base + dt.timedelta(minutes=7 * i), rnd),
        )
        for i in range(count)
    ]
