-- A hook delivery's body (a GitHub push is 5 to 25 kB of JSON) is compressed as it is stored,
-- and pglz, PostgreSQL's default method, took the server longer than storing the delivery's
-- changes did: about 140 µs a body on two cores. lz4 takes a fraction of that and keeps the
-- bodies about as small. Only rows written from now on use it. A server built without lz4
-- keeps pglz (and says so in a notice); nothing else changes.
do $$
begin
    execute 'alter table hook_deliveries alter column body set compression lz4';
exception when feature_not_supported then
    raise notice 'this PostgreSQL has no lz4: hook delivery bodies stay compressed with pglz';
end
$$;
