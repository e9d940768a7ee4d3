"""The chassis: plumbing every service shares. It knows no domain."""
