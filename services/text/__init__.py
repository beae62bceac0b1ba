"""Text analysis: sentences, sentence vectors, topics, keywords, segment selection, chapter lines and the optional LLM."""
