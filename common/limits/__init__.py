"""Limits and the shared state behind them: window counters, login limits, the client's
address, and the Redis connection and scripts they count with.
"""
