"""Measuring the recommenders: data-set loaders (urbact, gcom), protocols (temporal, partner and store
hold-outs), metrics, and the simple baselines every table prints next to the engine."""
