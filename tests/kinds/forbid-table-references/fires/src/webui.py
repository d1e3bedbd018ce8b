def load(cur):
    cur.execute("SELECT * FROM webui_chats JOIN webui_chats_legacy USING (id)")
