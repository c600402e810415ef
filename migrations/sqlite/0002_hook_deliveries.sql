-- Every change hook request, kept so an admin can see why a webhook did (not) build and
-- replay it. Bodies are stored up to a limit; headers without secrets.
create table hook_deliveries (
    id integer primary key autoincrement,
    dialect text not null,
    received_at integer not null,
    source_addr text not null default '',
    -- the forge's event type (X-GitHub-Event, X-Gitlab-Event, X-Event-Key) when it sends one
    event text,
    -- HTTP status answered and a short outcome text ("2 changes", "ignored", the error)
    status integer not null,
    outcome text not null default '',
    -- JSON list of the change ids created
    change_ids text not null default '[]',
    -- JSON object of the request headers, secrets removed
    headers text not null default '{}',
    content_type text,
    body blob,
    -- whether `body` was cut at the storage limit (then it cannot be replayed)
    body_truncated integer not null default 0,
    -- the delivery this one replays, if any
    replay_of integer references hook_deliveries(id)
);
create index hook_deliveries_received on hook_deliveries(received_at);
