"""Product metrics without Dagster: the queries behind each metric table (``queries``), A/B statistics
(``ab_stats``, ``experiments``), the churn model (``churn_model``), forecasts (``forecasting``), exports
(``exports``) and the HTML dashboard (``dashboard``). The counting rules they share are in ``rules``."""
