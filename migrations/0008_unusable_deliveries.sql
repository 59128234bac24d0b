-- A signed delivery PostgreSQL cannot hold as an order -- a body that is not
-- UTF-8 or carries a NUL character, or whose data the database refuses (an
-- SQLSTATE class 22 or 54 error) -- is kept raw with the outcome 'unusable'
-- instead of being spooled for a drain that would fail on it forever.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_outcome_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_outcome_check CHECK (outcome IN
    ('accepted', 'duplicate', 'duplicate_differs', 'ignored', 'invalid_json', 'unusable'));
