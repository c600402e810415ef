-- PostgreSQL drops the foreign key from change_files to changes here (see its migration).
-- SQLite keeps it: its check is one lookup by rowid, and dropping it would mean copying the
-- whole table.
select 1;
