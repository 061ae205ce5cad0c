"""The names a user sets to find the trial database (kept apart so reading them loads no
SQLAlchemy)."""

#: The environment variable that names the database when no URL is given.
DB_ENV = "AFSEARCH_DB"
#: The SQLite file in the working directory when neither a URL nor ``DB_ENV`` is given.
DEFAULT_FILE = "afsearch.db"
