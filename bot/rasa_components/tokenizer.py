"""Tokenize with spaCy's blank English tokenizer: spaCy rules, no downloaded model."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import spacy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.rasa_components.creation import CreatedFromConfig


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class BlankSpacyTokenizer(CreatedFromConfig, Tokenizer):
    """Split text with ``spacy.blank("en")``, which handles contractions and punctuation well.

    Rasa's stock ``SpacyTokenizer`` needs a downloaded model (``SpacyNLP``); the blank
    pipeline ships with spaCy itself, so nothing is fetched at run time.
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Return the defaults every Rasa tokenizer understands."""
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    def __init__(self, config: Dict[str, Any]) -> None:
        super().__init__(config)
        self._nlp = spacy.blank("en")

    @staticmethod
    def required_packages() -> List[str]:
        """Name the package this component needs."""
        return ["spacy"]

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        """Return the non-space tokens of ``attribute`` with their character offsets."""
        text: Optional[str] = message.get(attribute)
        if not text:
            return []
        doc = self._nlp.make_doc(text)
        tokens = [Token(t.text, t.idx, lemma=t.lower_) for t in doc if not t.is_space]
        if not tokens:
            return []
        return self._apply_token_pattern(tokens)
