"""Linux 6.12.118 (Debian 13): the parts of the swap path that differ from 6.1."""
