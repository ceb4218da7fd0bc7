import unittest

from textstats import average_word_length, word_count


class WordCountTest(unittest.TestCase):
    def test_simple_sentence(self) -> None:
        self.assertEqual(word_count("the quick brown fox"), 4)

    def test_repeated_whitespace(self) -> None:
        self.assertEqual(word_count("  the   quick\tbrown\nfox  "), 4)

    def test_empty(self) -> None:
        self.assertEqual(word_count(""), 0)


class AverageWordLengthTest(unittest.TestCase):
    def test_average(self) -> None:
        self.assertEqual(average_word_length("ab abcd"), 3.0)


if __name__ == "__main__":
    unittest.main()
