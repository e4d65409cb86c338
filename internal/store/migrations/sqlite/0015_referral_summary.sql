-- Redaction before referral (issue 15 item 5; docs/casework.md).
--
-- A referral that shares the narrative may share a copy the caseworker
-- edited (third parties' names taken out, say) instead of the survivor's
-- words. The edited copy is sealed under the report's data key, like the
-- override's justification, and bound to the referral: the receiving
-- organisation's copy is made from it only when the referral is sent,
-- and a withdrawal clears it with the rest.
ALTER TABLE referrals ADD COLUMN summary BLOB;
