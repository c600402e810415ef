-- When each session was last used, so that one left idle for `[auth] session_idle_timeout`
-- seconds ends even before its `expires_at` (the absolute limit set at login). Sessions that
-- exist already count as used when they were made.
alter table sessions add column last_seen_at bigint not null default 0;
update sessions set last_seen_at = created_at;
-- "Log out everywhere" deletes a user's sessions by name.
create index sessions_username on sessions(username);
