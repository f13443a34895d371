"""Test helpers shared by every test folder (real servers, not mocks)."""
