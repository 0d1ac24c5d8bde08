-- Department task inbox, written only by the department task workflow's projection activity.
CREATE TABLE department_tasks (
    task_id       text PRIMARY KEY,
    case_id       text NOT NULL,
    department    text NOT NULL,
    role          text NOT NULL,
    status        text NOT NULL,
    summoned_at   timestamptz NOT NULL,
    accept_due    timestamptz NOT NULL,
    work_due      timestamptz,
    accepted_at   timestamptz,
    completed_at  timestamptz,
    closed_reason text,
    result        text,
    overdue       boolean NOT NULL DEFAULT false,
    supervision   boolean NOT NULL DEFAULT false,
    reminders     integer NOT NULL DEFAULT 0,
    version       integer NOT NULL
);

CREATE INDEX department_tasks_inbox ON department_tasks (department, status, overdue DESC, accept_due);
CREATE INDEX department_tasks_case ON department_tasks (case_id);
