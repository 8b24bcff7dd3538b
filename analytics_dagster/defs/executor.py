import dagster as dg


@dg.definitions
def executor() -> dg.Definitions:
    # Steps run in the run's own process: a fresh Python process per step cost more than the steps themselves
    # (71-97 s for a metrics day whose steps took 7-10 s). Pools still hold: the executor claims their slots.
    return dg.Definitions(executor=dg.in_process_executor)
