"""A small bilingual corpus for training the tiny models' tokenizers.

Real words (English and French, the deck's examples among them) make the tiny
models' tokens readable in the next-token view and in transcripts, even though
the weights are random.
"""

SENTENCES = [
    "Je suis allé voir Emilie. C'est une amie, une chanteuse, une artiste.",
    "Bonjour, comment allez-vous aujourd'hui ?",
    "L'intelligence artificielle générative crée de nouvelles données.",
    "Un renard roux court dans la neige sous la lune.",
    "Une aquarelle d'un chat qui dort au soleil.",
    "La musique douce au piano accompagne la pluie.",
    "Le modèle prédit le prochain mot avec une probabilité.",
    "Hello, how are you today?",
    "A red fox in the snow, watercolor, soft light.",
    "A calm piano melody with gentle drums and warm bass.",
    "The model predicts the next token from the previous ones.",
    "Diffusion turns random noise into an image step by step.",
    "The quick brown fox jumps over the lazy dog.",
    "Summarize this text in one sentence.",
    "Translate the following text into French.",
    "Rewrite this paragraph in a clearer style.",
    "Speech to text, text to speech, text to music and images.",
    "You are a helpful assistant. Answer briefly and kindly.",
    "user assistant system",
    "0 1 2 3 4 5 6 7 8 9 10 100 2024 3.14",
]

TEXT = "\n".join(SENTENCES)
