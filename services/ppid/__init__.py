"""PPID: public information requests under UU 14/2008, from request to annual report."""
