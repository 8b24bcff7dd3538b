"""Reference computations of every metric table in plain pandas, written from the definitions in docs/metrics.md
and independently of sql/metrics, to check the warehouse figures against."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from analytics_dagster_tests.metrics.dataset import Dataset

LATE_DAYS = 3
BOOKKEEPING = {"$identify", "$groupidentify", "$exposure", "experiment_exposure"}
DAY = dt.timedelta(days=1)


class Reference:
    def __init__(self, dataset: Dataset):
        events = dataset.events.copy()
        lateness = (pd.to_datetime(events["partition_date"]) - pd.to_datetime(events["event_date"])).dt.days
        self.counted = events[lateness <= LATE_DAYS].copy()
        self.counted["source_group"] = self.counted["source"].replace(
            {"amplitude": "Amplitude", "appmetrica": "AppMetrica"}
        )
        self.counted["platform"] = self.counted["platform"].fillna("unknown")
        self.active = self.counted[~self.counted["event_type"].isin(BOOKKEEPING)].copy()
        self.event_properties = dataset.event_properties
        self.user_properties = dataset.user_properties

    # ---- helpers ------------------------------------------------------------------------------------------
    def _until(self, day: dt.date) -> pd.DataFrame:
        return self.active[self.active["event_date"] <= day]

    def first_days(self, day: dt.date) -> pd.Series:
        return self._until(day).groupby("user_key")["event_date"].min()

    @staticmethod
    def _segments(frame: pd.DataFrame):
        yield "all", "all", frame
        for column, dimension in (("source_group", "source"), ("platform", "platform")):
            for segment, rows in frame.groupby(column):
                yield dimension, segment, rows

    # ---- activity -----------------------------------------------------------------------------------------
    def activity(self, day: dt.date) -> pd.DataFrame:
        window = self.active[(self.active["event_date"] >= day - 29 * DAY) & (self.active["event_date"] <= day)]
        first = self.first_days(day)
        new_keys = set(first[first == day].index)
        rows = []
        for dimension, segment, frame in self._segments(window):
            today = frame[frame["event_date"] == day]
            dau = today["user_key"].nunique()
            mau = frame["user_key"].nunique()
            rows.append(
                {
                    "dimension": dimension,
                    "segment": segment,
                    "dau": dau,
                    "wau": frame[frame["event_date"] >= day - 6 * DAY]["user_key"].nunique(),
                    "mau": mau,
                    "new_users": len(set(today["user_key"]) & new_keys),
                    "events": len(today),
                    "stickiness": dau / mau if mau else None,
                }
            )
        return pd.DataFrame(rows)

    def top_events(self, day: dt.date, top_n: int) -> pd.DataFrame:
        today = self.active[self.active["event_date"] == day]
        rows = []
        for dimension, segment, frame in self._segments(today):
            counts = frame.groupby("event_type").agg(event_count=("uuid", "size"), unique_users=("user_key", "nunique"))
            counts = (
                counts.reset_index()
                .sort_values(["event_count", "unique_users", "event_type"], ascending=[False, False, True])
                .head(top_n)
            )
            for rank, row in enumerate(counts.itertuples(), start=1):
                rows.append(
                    {
                        "dimension": dimension,
                        "segment": segment,
                        "event_rank": rank,
                        "event_type": row.event_type,
                        "event_count": row.event_count,
                        "unique_users": row.unique_users,
                    }
                )
        return pd.DataFrame(rows)

    def lifecycle(self, day: dt.date) -> dict:
        until = self._until(day)
        today = set(until[until["event_date"] == day]["user_key"])
        yesterday = set(until[until["event_date"] == day - DAY]["user_key"])
        first = self.first_days(day)
        new = {u for u in today if first[u] == day}
        returning = today & yesterday
        resurrecting = today - yesterday - new
        dormant = yesterday - today
        return {
            "active_users": len(today),
            "new_users": len(new),
            "returning_users": len(returning),
            "resurrecting_users": len(resurrecting),
            "dormant_users": len(dormant),
            "quick_ratio": (len(new) + len(resurrecting)) / len(dormant) if dormant else None,
        }

    # ---- retention ----------------------------------------------------------------------------------------
    def _active_days(self, day: dt.date) -> dict[str, set[dt.date]]:
        until = self._until(day)
        return {user: set(days) for user, days in until.groupby("user_key")["event_date"]}

    def retention_daily(self, day: dt.date) -> pd.DataFrame:
        active_days = self._active_days(day)
        first_cohort = day - 30 * DAY
        cohorts: dict[tuple[str, dt.date], list[str]] = {}
        for user, days in active_days.items():
            if min(days) >= first_cohort:
                cohorts.setdefault(("first_time", min(days)), []).append(user)
            for d in days:
                if d >= first_cohort:
                    cohorts.setdefault(("recurring", d), []).append(user)
        rows = []
        for (cohort_type, cohort_date), members in cohorts.items():
            size = len(members)
            for n in range(31):
                target = cohort_date + n * DAY
                complete = target <= day
                on = sum(target in active_days[u] for u in members)
                after = sum(any(d >= target for d in active_days[u]) for u in members)
                rows.append(
                    {
                        "cohort_type": cohort_type,
                        "cohort_date": cohort_date,
                        "cohort_size": size,
                        "day_number": n,
                        "is_complete": complete,
                        "returned_on_day": on if complete else None,
                        "returned_on_or_after_day": after if complete else None,
                        "retention_on_day": on / size if complete else None,
                        "retention_on_or_after_day": after / size if complete else None,
                    }
                )
        return pd.DataFrame(rows)

    def retention_weekly(self, day: dt.date) -> pd.DataFrame:
        def monday(d: dt.date) -> dt.date:
            return d - d.weekday() * DAY

        active_weeks = {user: {monday(d) for d in days} for user, days in self._active_days(day).items()}
        first_cohort = monday(day) - 7 * 7 * DAY
        cohorts: dict[tuple[str, dt.date], list[str]] = {}
        for user, weeks in active_weeks.items():
            if min(weeks) >= first_cohort:
                cohorts.setdefault(("first_time", min(weeks)), []).append(user)
            for w in weeks:
                if w >= first_cohort:
                    cohorts.setdefault(("recurring", w), []).append(user)
        rows = []
        for (cohort_type, start), members in cohorts.items():
            size = len(members)
            later_known = start + 13 * DAY <= day
            later = sum(any(w > start for w in active_weeks[u]) for u in members)
            for k in range(6):
                week_end = start + (7 * k + 6) * DAY
                complete = week_end <= day
                if k < 5:
                    retained = sum(start + 7 * k * DAY in active_weeks[u] for u in members)
                else:
                    retained = sum(any(w >= start + 35 * DAY for w in active_weeks[u]) for u in members)
                rows.append(
                    {
                        "cohort_type": cohort_type,
                        "cohort_start": start,
                        "cohort_end": start + 6 * DAY,
                        "cohort_size": size,
                        "week_number": k,
                        "week_label": "Week 5+" if k == 5 else f"Week {k}",
                        "is_complete": complete,
                        "retained_users": retained if complete else None,
                        "retention_rate": retained / size if complete else None,
                        "overall_retention_rate": later / size if later_known else None,
                    }
                )
        return pd.DataFrame(rows)

    # ---- per user -----------------------------------------------------------------------------------------
    def user_engagement(self, day: dt.date) -> pd.DataFrame:
        window = self.active[(self.active["event_date"] >= day - 29 * DAY) & (self.active["event_date"] <= day)]
        rows = []
        for user, frame in window.groupby("user_key"):
            active_days = frame["event_date"].nunique()
            last7 = frame[frame["event_date"] >= day - 6 * DAY]["event_date"].nunique()
            sessions = {(s, i) for s, i in zip(frame["source"], frame["session_id"]) if pd.notna(i) and i != -1}
            since = (day - frame["event_date"].max()).days
            hours = (
                (pd.to_datetime(frame["event_time"]) + pd.Timedelta(hours=3))
                .dt.hour.value_counts()
                .reindex(range(24), fill_value=0)
            )
            if since >= 7:
                risk = "high"
            elif since >= 3 or last7 <= 1:
                risk = "medium"
            else:
                risk = "low"
            rows.append(
                {
                    "user_key": user,
                    "events": len(frame),
                    "active_days": active_days,
                    "active_days_last_7": last7,
                    "sessions": len(sessions),
                    "days_since_last_activity": since,
                    "engagement_score": 0.4 * active_days / 30
                    + 0.4 * (1 - since / 30)
                    + 0.2 * min(len(sessions) / 30, 1),
                    "churn_risk": risk,
                    **{f"h{h:02d}": hours[h] / len(frame) for h in range(24)},
                }
            )
        return pd.DataFrame(rows)

    # ---- A/B ----------------------------------------------------------------------------------------------
    def ab_user_outcomes(
        self,
        day: dt.date,
        flag: str,
        start: dt.date,
        exposure_types: set[str],
        metric_types: set[str],
        window_days: int,
    ) -> pd.DataFrame:
        """One row per exposed user: variant (None when seen in several), exposure time, metric events, revenue."""
        counted = self.counted[(self.counted["event_date"] >= start) & (self.counted["event_date"] <= day)]
        by_uuid = counted.set_index("uuid")
        exposures = []
        for row in self.event_properties.itertuples():
            if row.uuid not in by_uuid.index or row.event_type not in exposure_types:
                continue
            properties = json.loads(row.event_properties)
            if properties.get("flag_key") == flag and properties.get("variant") is not None:
                event = by_uuid.loc[row.uuid]
                exposures.append((event["user_key"], event["event_time"], properties["variant"]))
        for row in self.user_properties.itertuples():
            if row.uuid not in by_uuid.index:
                continue
            if row.user_properties is None:
                continue
            variant = json.loads(row.user_properties).get(f"[Experiment] {flag}")
            if variant is not None:
                event = by_uuid.loc[row.uuid]
                exposures.append((event["user_key"], event["event_time"], variant))
        frame = pd.DataFrame(exposures, columns=["user_key", "event_time", "variant"])
        assignments = frame.groupby("user_key").agg(
            exposure_time=("event_time", "min"), variants=("variant", lambda v: sorted(set(v)))
        )
        metric_events = self.active[self.active["event_type"].isin(metric_types) & (self.active["event_date"] <= day)]
        rows = []
        for user, assignment in assignments.iterrows():
            mine = metric_events[
                (metric_events["user_key"] == user)
                & (metric_events["event_time"] >= assignment["exposure_time"])
                & (metric_events["event_time"] < assignment["exposure_time"] + pd.Timedelta(days=window_days))
            ]
            rows.append(
                {
                    "user_key": user,
                    "variant": assignment["variants"][0] if len(assignment["variants"]) == 1 else None,
                    "exposure_time": assignment["exposure_time"],
                    "metric_events": len(mine),
                    "revenue": float(mine["revenue"].fillna(0).sum()),
                }
            )
        return pd.DataFrame(rows)
