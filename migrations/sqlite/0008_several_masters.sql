-- Events too large for a PostgreSQL notification, for the bus between masters. A master on
-- SQLite is alone and never writes here; the table exists so both schemas stay in step.
create table bus_events (
    id integer primary key,
    master integer not null,
    at integer not null,
    payload text not null
);
create index bus_events_at on bus_events(at);

-- What the masters sharing the database show of each other (see the PostgreSQL twin).
alter table masters add column address text not null default '';
alter table masters add column started_at integer not null default 0;
alter table masters add column lost_at integer;
