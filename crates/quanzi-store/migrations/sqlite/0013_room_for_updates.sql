-- PostgreSQL only (page fill factor); SQLite updates rows in place.
SELECT 1;
