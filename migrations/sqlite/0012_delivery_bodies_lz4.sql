-- PostgreSQL compresses hook delivery bodies with lz4 from here on (see its migration).
-- SQLite stores them as they came.
select 1;
