-- cluster_summaries: one row per cluster: the LLM's summary (or an offline one) with the prompt and raw answer.
CREATE TABLE IF NOT EXISTS cluster_summaries (
    partition_date    DATE    NOT NULL,
    cluster_id        INTEGER NOT NULL,
    title             VARCHAR NOT NULL,
    summary           VARCHAR NOT NULL,
    source            VARCHAR NOT NULL, -- 'llm' or 'offline' (then the summary starts with "Offline summary (<reason>)")
    model             VARCHAR,
    prompt            VARCHAR NOT NULL, -- JSON chat messages
    prompt_sha256     VARCHAR NOT NULL, -- the LLM cache key: sha256 of model + prompt
    answer            VARCHAR,          -- the LLM's answer as received
    cached            BOOLEAN NOT NULL, -- answered from the cache, at no cost
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL
);
