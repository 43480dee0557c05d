"""arch/x86."""
