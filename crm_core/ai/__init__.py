"""AI help: plain English to segment rules, message ideas and insights, from any OpenAI-compatible model,
with a deterministic offline engine when no model is set up or the model fails. Only this package imports
openai. Only the field catalog, rule trees and aggregate figures are ever sent to a model."""
