"""Tests that run podman's real quadlet binary."""
