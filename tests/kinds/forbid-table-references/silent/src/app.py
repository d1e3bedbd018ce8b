"""Keeps task_sessions in sync (a docstring, not SQL)."""

import logging

logger = logging.getLogger(__name__)


class Repo:
    """Reads chat_sessions; task_sessions is gone."""

    def load(self, cur, table_name, user_id):
        # TODO: stop writing to task_sessions once the scheduler lands
        """select task_sessions to export"""
        task_sessions = get_task_sessions(user_id)
        logger.info("pruned %d task_sessions for %s", len(task_sessions), user_id)
        payload = {"task_sessions": [], "chat_sessions": []}
        prompt = "select task_sessions to export"
        cur.execute(f"SELECT * FROM {table_name} WHERE id = ?", (1,))
        cur.execute("SELECT * FROM task_sessions_archive")
        return payload, prompt


def get_task_sessions(user_id):
    return []
