-- A local index of each administration's Moneybird contacts, so a contact a
-- person made by hand (same VAT number, Peppol id or email address) is found
-- without a search per order. Kept current from contacts/synchronization
-- (ids + versions, then the changed ones in batches of 100) and from the
-- contacts the connector creates. The customer_id is kept as is; the other
-- keys are stored normalised: the VAT number
-- without spaces, dots and dashes, lower case; the Peppol id as
-- scheme:identifier, lower case; each address of send_invoices_to_email,
-- trimmed, lower case.
CREATE TABLE mb_contact_index (
    administration_id text   NOT NULL,
    contact_id        text   NOT NULL,
    version           bigint NOT NULL,
    customer_id       text   NOT NULL DEFAULT '',
    tax_key           text   NOT NULL DEFAULT '',
    peppol_key        text   NOT NULL DEFAULT '',
    email_keys        text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (administration_id, contact_id)
);
CREATE INDEX mb_contact_index_customer_id ON mb_contact_index (administration_id, customer_id)
    WHERE customer_id <> '';
CREATE INDEX mb_contact_index_tax ON mb_contact_index (administration_id, tax_key)
    WHERE tax_key <> '';
CREATE INDEX mb_contact_index_peppol ON mb_contact_index (administration_id, peppol_key)
    WHERE peppol_key <> '';
CREATE INDEX mb_contact_index_email ON mb_contact_index USING gin (email_keys);

-- When each administration's index was last made complete (the time its
-- synchronization listing was asked for).
CREATE TABLE mb_contact_index_state (
    administration_id text        PRIMARY KEY,
    refreshed_at      timestamptz NOT NULL
);
