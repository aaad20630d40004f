"""Analytics' tables: metric snapshots, short links, clicks and conversions."""
