-- Schema version 3: instants in microseconds.
--
-- Versions 1 and 2 kept every instant column as nanoseconds since the Unix
-- epoch, which an INTEGER holds only from 1677-09-21 to 2262-04-11; outside
-- that, values were clamped to the ends of the integer range. From version 3
-- on, every instant column holds microseconds since the Unix epoch (UTC),
-- exact over the whole of chrono's range: instants are to the microsecond
-- (R-INPUT), and a store keeps exactly that.
--
-- Each value is divided by 1000 and rounded up, as the store rounds up an
-- instant finer than a microsecond (mci_store_sqlite::columns::instant), so
-- that compared with a `now` of whole microseconds it answers as before. A
-- value clamped at an end of the integer range (an instant version 2 could
-- not keep) stays at that end, after or before every instant. Documents
-- keep their instants as RFC 3339 text and need no change.
--
-- SQLite's integer division truncates toward zero: that rounds a negative
-- value up, and (x - 1) / 1000 + 1 rounds a positive one up.

UPDATE nominations SET
    lapse_at = CASE
        WHEN lapse_at IN (-9223372036854775807 - 1, 9223372036854775807) THEN lapse_at
        WHEN lapse_at > 0 THEN (lapse_at - 1) / 1000 + 1
        ELSE lapse_at / 1000
    END,
    wake_at = CASE
        WHEN wake_at IN (-9223372036854775807 - 1, 9223372036854775807) THEN wake_at
        WHEN wake_at > 0 THEN (wake_at - 1) / 1000 + 1
        ELSE wake_at / 1000
    END,
    standing_until = CASE
        WHEN standing_until IN (-9223372036854775807 - 1, 9223372036854775807) THEN standing_until
        WHEN standing_until > 0 THEN (standing_until - 1) / 1000 + 1
        ELSE standing_until / 1000
    END
WHERE lapse_at IS NOT NULL OR wake_at IS NOT NULL OR standing_until IS NOT NULL;

UPDATE outbox SET
    available_at = CASE
        WHEN available_at IN (-9223372036854775807 - 1, 9223372036854775807) THEN available_at
        WHEN available_at > 0 THEN (available_at - 1) / 1000 + 1
        ELSE available_at / 1000
    END;
