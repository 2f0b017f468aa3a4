"""Time-series forecasting: the seed's cosine wave, any CSV/Parquet/JSON series, ETT benchmarks."""

from .task import ForecastTask

__all__ = ["ForecastTask"]
