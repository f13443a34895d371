-- The reference schema: patients and what the clinic agent may read about them, the clinics'
-- avatar configuration, the access audit and the cost ledger. Everything lives in the
-- "medvision" schema so it can sit next to a clinic's own tables.

CREATE SCHEMA IF NOT EXISTS medvision;

CREATE TABLE medvision.clinics (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$'),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE medvision.patients (
    id                  text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$'),
    clinic_id           text REFERENCES medvision.clinics (id),
    preferred_name      text,
    birth_date          date,
    sex                 text,
    preferred_language  text,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE medvision.allergies (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id   text NOT NULL REFERENCES medvision.patients (id) ON DELETE CASCADE,
    substance    text NOT NULL,
    reaction     text,
    severity     text,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX allergies_patient_idx ON medvision.allergies (patient_id);

CREATE TABLE medvision.medications (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id  text NOT NULL REFERENCES medvision.patients (id) ON DELETE CASCADE,
    name        text NOT NULL,
    dosage      text,
    active      boolean NOT NULL DEFAULT true,
    started_on  date
);
CREATE INDEX medications_active_idx ON medvision.medications (patient_id) WHERE active;

CREATE TABLE medvision.conditions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id  text NOT NULL REFERENCES medvision.patients (id) ON DELETE CASCADE,
    name        text NOT NULL,
    since       date,
    active      boolean NOT NULL DEFAULT true
);
CREATE INDEX conditions_active_idx ON medvision.conditions (patient_id) WHERE active;

CREATE TABLE medvision.vital_signs (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id        text NOT NULL REFERENCES medvision.patients (id) ON DELETE CASCADE,
    measured_at       timestamptz NOT NULL,
    heart_rate_bpm    smallint,
    systolic_mmhg     smallint,
    diastolic_mmhg    smallint,
    temperature_c     numeric(4, 1),
    spo2_pct          smallint,
    respiratory_rate  smallint
);
CREATE INDEX vital_signs_latest_idx ON medvision.vital_signs (patient_id, measured_at DESC);

CREATE TABLE medvision.care_notes (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    patient_id  text NOT NULL REFERENCES medvision.patients (id) ON DELETE CASCADE,
    written_at  timestamptz NOT NULL DEFAULT now(),
    body        text NOT NULL
);
CREATE INDEX care_notes_recent_idx ON medvision.care_notes (patient_id, written_at DESC);

-- One row per provider a clinic has configured; the agent uses the enabled one.
CREATE TABLE medvision.avatar_configs (
    clinic_id   text NOT NULL REFERENCES medvision.clinics (id) ON DELETE CASCADE,
    provider    text NOT NULL CHECK (provider IN ('anam', 'bey', 'lemonslice', 'simli', 'tavus')),
    settings    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
    enabled     boolean NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinic_id, provider)
);

-- Who read which patient's context, when, from which job and room, and why.
CREATE TABLE medvision.access_audit (
    id           bigserial PRIMARY KEY,
    accessed_at  timestamptz NOT NULL DEFAULT now(),
    patient_id   text NOT NULL,
    found        boolean NOT NULL,
    job_id       text,
    room_name    text,
    purpose      text NOT NULL,
    db_user      text NOT NULL DEFAULT current_user
);
CREATE INDEX access_audit_patient_idx ON medvision.access_audit (patient_id, accessed_at);
CREATE INDEX access_audit_time_idx ON medvision.access_audit (accessed_at);

-- Written by the CostTracker at the end of each session.
CREATE TABLE medvision.cost_ledger (
    id              bigserial PRIMARY KEY,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    job_id          text,
    room_name       text,
    patient_hash    text,
    model           text NOT NULL,
    turns           integer NOT NULL,
    session_seconds double precision NOT NULL,
    total_usd       numeric(14, 6),          -- NULL when the model is unpriced
    report          jsonb NOT NULL
);
-- Spend per day (range scans on recorded_at) and per patient over time.
CREATE INDEX cost_ledger_recorded_idx ON medvision.cost_ledger (recorded_at);
CREATE INDEX cost_ledger_patient_idx ON medvision.cost_ledger (patient_hash, recorded_at)
    WHERE patient_hash IS NOT NULL;
