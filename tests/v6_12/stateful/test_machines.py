"""The swap I/O state machines on the 6.12 model, run under the selected Hypothesis profile."""

from kmodel.testing.machines_6_12 import SwapIOMachine612, SyncDiskMachine612, VirtioMachine612

TestSwapIO612 = SwapIOMachine612.TestCase
TestVirtio612 = VirtioMachine612.TestCase
TestSyncDisk612 = SyncDiskMachine612.TestCase
