-- A hook delivery's body is stored compressed with zstd from now on (a GitHub push of 8.7 kB
-- of JSON takes under 2 kB), by the master, before it is sent: the server no longer spends its
-- own time compressing it (its attempt on an already compressed value fails at once).
-- `body_encoding` says how `body` is stored: 'zstd', or null for a body stored as it came
-- (rows from before, and bodies too small to gain from it).
alter table hook_deliveries add column body_encoding text;
