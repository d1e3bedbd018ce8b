-- The analytics database: a second SQLite file that the dashboard's reports
-- read (app/reports/engagement.py). gatecheck replays these files into a
-- scratch database to check the reports' SQL against it (rules.yaml, databases:).
CREATE TABLE events (
    event_id   INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    channel    TEXT NOT NULL,
    event      TEXT NOT NULL,      -- 'opened', 'message', 'closed'
    at         TEXT NOT NULL
);
CREATE INDEX idx_events_at ON events (at);

CREATE TABLE daily_active (
    day      TEXT NOT NULL,
    channel  TEXT NOT NULL,
    sessions INTEGER NOT NULL,
    PRIMARY KEY (day, channel)
);
