-- Consent scope (SPEC §3 rule 5; docs/security.md, "Consent scope").
--
-- A survivor's "you may refer me to services that match my needs" covers
-- only the kinds of service that meet the help she asked for. The police
-- gender desk and legal aid need their own tick on the report form.
ALTER TABLE reports ADD COLUMN consent_police BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE reports ADD COLUMN consent_legal BOOLEAN NOT NULL DEFAULT false;

-- The kind of service a referral's consent covers: the type of the service
-- when the referral was proposed, named in the request the survivor
-- answers, or the kind she agreed to by phone. A referral is sent only
-- while the service is still of that kind. Existing referrals take their
-- service's type as it is now.
ALTER TABLE referrals ADD COLUMN service_type TEXT NOT NULL DEFAULT '';
UPDATE referrals SET service_type = COALESCE(
	(SELECT json_extract(services.data, '$.type') FROM services WHERE services.id = referrals.service_id), '');

-- The network coordinator's child-protection mark: the only services the
-- child-protection override may reach. It is its own column so that an
-- organisation's edit of its service (the JSON in data) cannot set it.
-- Child-protection services of organisations the operator created as
-- child-protection organisations (salama org create --child-protection)
-- keep working for the override; any other service waits for a
-- coordinator's mark.
ALTER TABLE services ADD COLUMN child_protection BOOLEAN NOT NULL DEFAULT false;
UPDATE services SET child_protection = true
	WHERE json_extract(data, '$.type') = 'child_protection'
	AND json_extract(data, '$.ages') IN ('children', 'all')
	AND org_id IN (SELECT id FROM organisations WHERE child_protection);
