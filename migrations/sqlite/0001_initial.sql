-- The whole data model of Cascade (DESIGN §2). Times are epoch seconds (`_ms` when
-- milliseconds), results are the numbers of model::Results, JSON is stored as TEXT.
-- The PostgreSQL twin of this file (migrations/postgres/0001_initial.sql) must stay in step.

-- One row per master process name; several masters may share a PostgreSQL database.
create table masters (
    id integer primary key autoincrement,
    name text not null unique,
    active integer not null default 0,
    last_active integer not null
);

create table builders (
    id integer primary key autoincrement,
    name text not null unique,
    description text,
    -- JSON list of tags (0.8.9's categories)
    tags text not null default '[]'
);

-- What to build: a codebase at a branch/revision, optionally with a patch.
create table sourcestamps (
    id integer primary key autoincrement,
    codebase text not null default '',
    repository text not null default '',
    branch text,
    revision text,
    project text not null default '',
    patch_body blob,
    patch_level integer,
    patch_subdir text,
    created_at integer not null
);

create table changes (
    id integer primary key autoincrement,
    author text not null,
    committer text,
    comments text not null default '',
    revision text,
    branch text,
    repository text not null default '',
    project text not null default '',
    codebase text not null default '',
    category text,
    revlink text,
    -- commit time as reported by the source; created_at is when the master stored it
    when_ts integer not null,
    created_at integer not null,
    -- JSON object of change properties
    properties text not null default '{}',
    sourcestamp_id integer references sourcestamps(id)
);
create index changes_branch on changes(branch, id);
create index changes_revision on changes(revision);

create table change_files (
    change_id integer not null references changes(id) on delete cascade,
    filename text not null
);
create index change_files_change on change_files(change_id);

-- Changes a scheduler has seen but not yet turned into a buildset (tree-stable timer).
create table scheduler_changes (
    scheduler text not null,
    change_id integer not null references changes(id) on delete cascade,
    important integer not null default 1,
    primary key (scheduler, change_id)
);

-- Small per-object state (periodic scheduler's last run, poller's last revisions, ...).
create table object_state (
    object text not null,
    key text not null,
    value text not null,
    primary key (object, key)
);

create table buildsets (
    id integer primary key autoincrement,
    reason text not null default '',
    -- the scheduler that made it ("force" schedulers included)
    scheduler text not null default '',
    external_idstring text,
    submitted_at integer not null,
    complete integer not null default 0,
    complete_at integer,
    results integer,
    properties text not null default '{}',
    -- who asked for it (forced builds) and why
    owner text
);

create table buildset_sourcestamps (
    buildset_id integer not null references buildsets(id) on delete cascade,
    sourcestamp_id integer not null references sourcestamps(id),
    primary key (buildset_id, sourcestamp_id)
);

-- The changes a buildset was made for: the blamelist of its builds.
create table buildset_changes (
    buildset_id integer not null references buildsets(id) on delete cascade,
    change_id integer not null references changes(id) on delete cascade,
    primary key (buildset_id, change_id)
);
create index buildset_changes_change on buildset_changes(change_id);

create table buildrequests (
    id integer primary key autoincrement,
    buildset_id integer not null references buildsets(id) on delete cascade,
    builder_id integer not null references builders(id),
    priority integer not null default 0,
    submitted_at integer not null,
    -- set atomically by the master that runs it: `update ... where claimed_by is null`
    claimed_by integer references masters(id),
    claimed_at integer,
    complete integer not null default 0,
    complete_at integer,
    results integer
);
create index buildrequests_pending on buildrequests(builder_id, complete, claimed_by, priority, id);
create index buildrequests_buildset on buildrequests(buildset_id);

create table workers (
    id integer primary key autoincrement,
    name text not null unique,
    -- JSON host info sent by the worker in its hello
    info text not null default '{}',
    version text,
    paused integer not null default 0,
    graceful integer not null default 0,
    connected_to integer references masters(id),
    last_seen integer
);

create table builds (
    id integer primary key autoincrement,
    builder_id integer not null references builders(id),
    -- per builder, from 1, never reused (unique index below)
    number integer not null,
    buildrequest_id integer not null references buildrequests(id),
    worker_id integer references workers(id),
    master_id integer not null references masters(id),
    started_at integer not null,
    finished_at integer,
    state_text text not null default '',
    results integer,
    reason text not null default '',
    properties text not null default '{}',
    -- copied from the build's first source stamp so that lists filter by branch without joins
    branch text,
    revision text
);
create unique index builds_builder_number on builds(builder_id, number);
create index builds_started on builds(id desc);
create index builds_results on builds(results, id);
create index builds_buildrequest on builds(buildrequest_id);
create index builds_unfinished on builds(finished_at, master_id);
create index builds_branch on builds(branch, id);

create table steps (
    id integer primary key autoincrement,
    build_id integer not null references builds(id) on delete cascade,
    number integer not null,
    name text not null,
    state_text text not null default '',
    results integer,
    started_at integer,
    finished_at integer,
    -- JSON list of {name, url}
    urls text not null default '[]',
    unique (build_id, number)
);

create table logs (
    id integer primary key autoincrement,
    step_id integer not null references steps(id) on delete cascade,
    name text not null,
    slug text not null,
    -- 's' stdio (stdout/stderr/header channels), 't' text
    kind text not null default 's',
    num_lines integer not null default 0,
    -- uncompressed bytes stored so far, for retention statistics
    raw_bytes integer not null default 0,
    complete integer not null default 0,
    unique (step_id, slug)
);

-- A log is a sequence of zstd-compressed chunks; each holds lines first_line..=last_line,
-- every line stored as one channel byte (o, e, h) followed by its text and a newline.
create table log_chunks (
    log_id integer not null references logs(id) on delete cascade,
    first_line integer not null,
    last_line integer not null,
    content blob not null,
    primary key (log_id, first_line)
);

create table users (
    uid integer primary key autoincrement,
    identifier text not null unique,
    username text unique,
    -- argon2id PHC string
    password_hash text
);

-- (email, git author, svn name, irc nick ...) used to find a change's interested users.
create table user_attributes (
    uid integer not null references users(uid) on delete cascade,
    attr_type text not null,
    attr_data text not null,
    primary key (attr_type, attr_data)
);
create index user_attributes_uid on user_attributes(uid);

create table sessions (
    id integer primary key autoincrement,
    -- sha-256 of the cookie token; the token itself is never stored
    token_hash text not null unique,
    uid integer references users(uid) on delete cascade,
    username text not null,
    csrf_token text not null,
    created_at integer not null,
    expires_at integer not null
);
create index sessions_expiry on sessions(expires_at);

-- Durable queue of reporter messages, written in the transaction of the event that caused them.
create table outbox (
    id integer primary key autoincrement,
    reporter text not null,
    payload text not null,
    created_at integer not null,
    attempts integer not null default 0,
    next_attempt_at integer not null,
    sent_at integer,
    last_error text
);
create index outbox_pending on outbox(reporter, sent_at, next_attempt_at);

-- Non-build events worth keeping (worker connects, master starts, reconfig) for the
-- waterfall's show_events and for auditing actions: who did what and why.
create table events (
    id integer primary key autoincrement,
    type text not null,
    at integer not null,
    actor text,
    payload text not null default '{}'
);
create index events_at on events(at);
