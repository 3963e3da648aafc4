"""Drivers for the hardware around a unit: power, console, WAN port."""
