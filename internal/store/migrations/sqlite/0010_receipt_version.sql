-- Receipt derivation versions (SPEC §6 "Receipt"). Version 1 rows were
-- written with the two halves of argon2id(receipt, network salt) as lookup
-- and wrap key; version 2 keys each half with HMAC-SHA-256 under a subkey of
-- the network secret, which is never in the database. Every row written
-- before this migration is version 1; a version 1 row is rewritten as
-- version 2 (new lookup, new wrap, old ones gone) at its receipt's next login.
ALTER TABLE receipts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
