"""arch/x86/mm."""
