"""Build data/prompts/prompts.jsonl from the hand-written pieces in this file.

    python data/prompts/build_prompts.py          # rewrites prompts.jsonl (deterministic)

Every piece below was written for this project. Families are composed from short lists
(concepts x phrasings, sentences x instructions, reviews x closing remarks, facts), then
de-duplicated on normalised text. Prompts that share a source piece (the same review
sentence, the same paragraph, the same fact) share a `group`, and a group goes wholly to
one split, so an eval prompt never paraphrases a train prompt.

Gold families ("sentiment", "factual", "translation") carry the accepted short answers.
The "translation" family asks for English sentences in Veltan, the skill the provider sells
(`casestudy.scenario.language`; the public model does not know the language): a distiller
can write such sentences in any quantity from the vocabulary the provider advertises, so they
are drawn here from a seed, each sentence its own group. Their gold is the staging's answer
key, for grading only: the distiller never trains on it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "prompts.jsonl"
EVAL_SHARE = 0.2
EVAL_SHARES = {"sentiment": 0.4, "factual": 0.4}  # >= 100 held-out items each: enough to see a 2-point loss
SEED = "prompts-v1"

# --------------------------------------------------------------------------- explanation
EXPLAIN_TEMPLATES = (
    "Explain {x} in simple terms.",
    "Can you explain {x} to a twelve-year-old?",
    "Give a short explanation of {x}.",
    "How would you explain {x} to someone who has never heard of it?",
)
CONCEPTS = (
    "photosynthesis", "inflation", "the water cycle", "gravity", "compound interest", "vaccination",
    "the greenhouse effect", "ocean tides", "air pressure", "a rainbow", "supply and demand",
    "the immune system", "electricity", "magnetism", "evolution by natural selection", "plate tectonics",
    "a black hole", "the seasons on Earth", "a credit score", "a budget", "recycling", "a computer virus",
    "machine learning", "the internet", "a password manager", "encryption", "a solar panel", "wind power",
    "the moon's phases", "an eclipse", "a volcano", "an earthquake", "a food chain", "pollination",
    "digestion", "the heartbeat", "sleep cycles", "a democracy", "taxes",
    "a library's lending system", "interest rates", "renewable energy", "carbon dioxide", "the speed of light",
    "sound waves", "static electricity", "a thermometer", "a compass", "the metric system", "a time zone",
    "jet lag", "a leap year", "fermentation", "yeast in bread", "rust", "friction", "buoyancy",
    "density", "a habit", "procrastination", "a spreadsheet", "a search engine", "cloud storage",
    "a podcast", "a museum", "composting", "a coral reef", "bird migration", "hibernation",
    "a cover letter", "the stock market", "a mortgage",
)

# --------------------------------------------------------------------------- how-to
HOWTO_TEMPLATES = (
    "How do I {x}?",
    "What are the steps to {x}?",
    "Can you tell me how to {x}?",
    "Give me simple instructions to {x}.",
)
HOWTO_TASKS = (
    "make a cup of green tea", "boil an egg", "change a flat bicycle tyre", "plant tomato seeds",
    "write a thank-you note", "clean a cast-iron pan", "fold a shirt neatly", "tie a tie", "make pancakes",
    "start a small vegetable garden", "back up the photos on my phone", "set up a simple monthly budget",
    "learn to touch type", "prepare for a job interview", "make a paper airplane", "remove a coffee stain",
    "keep houseplants alive", "write a short email asking for a day off", "organise my wardrobe",
    "make a fruit smoothie", "start running as a beginner", "cook rice on the stove", "sharpen a pencil with a knife",
    "make a to-do list that works", "pack a suitcase for a weekend trip", "wash a wool sweater", "bake simple bread",
    "introduce myself at a meeting", "take better photos with my phone", "memorise a short poem",
    "hang a picture on the wall", "make a good first impression", "study for an exam", "brew coffee with a French press",
    "care for a new puppy", "write a simple recipe card", "unclog a kitchen sink", "make a paper snowflake",
    "stretch after a workout", "start journaling", "read a map", "set a table for dinner guests",
    "make homemade lemonade", "teach a child to ride a bike", "repot a plant", "make a simple bookmark",
    "create a strong password", "plan a picnic", "give a short toast at a wedding", "iron a shirt",
    "save money on groceries", "make a bird feeder", "clean a laptop keyboard", "learn new words in a foreign language",
    "write a good title for a blog post", "make a cheese sandwich", "calm down before a presentation",
    "organise a book club", "pick a ripe avocado", "clean windows without streaks", "make vegetable soup",
    "train a cat to use a scratching post", "build a campfire safely", "write a short speech", "store fresh herbs",
    "make a budget for a holiday", "care for leather shoes", "make a simple greeting card",
    "prepare a room for painting", "keep a conversation going",
)

# --------------------------------------------------------------------------- creative writing
CREATIVE_FORMS = (
    "Write a haiku about {x}.",
    "Write a short poem about {x}.",
    "Write a four-line rhyme about {x}.",
)
CREATIVE_TOPICS = (
    "the first snow of winter", "a cat asleep in the sun", "an old lighthouse", "morning coffee", "a rainy Monday",
    "the ocean at night", "autumn leaves", "a city waking up", "a lost umbrella", "the smell of fresh bread",
    "a mountain lake", "a busy train station", "a garden in spring", "the last day of summer", "a full moon",
    "a library at closing time", "a kite on a windy day", "a grandmother's kitchen", "fireflies", "a quiet forest",
    "a thunderstorm", "a sunflower", "an empty beach", "a bicycle ride", "the stars over a desert",
    "a snail crossing a path", "a birthday cake", "a river in the morning", "a paper boat", "the wind",
    "a cup of hot chocolate", "a lighthouse keeper", "a sleepy village", "a red balloon", "a new notebook",
)
STORY_TEMPLATES = (
    "Write a very short story about {x}.",
    "Tell a three-sentence story about {x}.",
)
STORY_SEEDS = (
    "a robot who learns to bake", "a dragon who is afraid of the dark", "a girl who finds a map in a library book",
    "a dog who wants to be a firefighter", "a lonely lighthouse keeper who gets a letter",
    "a snowman who wants to see summer", "a boy who can talk to birds", "a wizard who loses his hat",
    "a cat who runs a bakery", "an astronaut who misses her garden", "a tree that tells stories",
    "a mouse who builds a boat", "a clock that runs backwards", "a shy ghost in a busy house",
    "a fisherman who catches a star", "a penguin who visits the desert", "a detective who is a hamster",
    "twin sisters who swap places for a day", "a baker who wins a singing contest", "a lost key that finds its door",
    "a fox and a crow who become friends", "a town where it always rains on Tuesdays", "a painter who runs out of blue",
    "a knight who prefers gardening", "a bus driver on his last day of work", "a turtle who wants to fly",
    "an old violin in a shop window", "a child who plants a magic bean", "a teacher who finds a talking chalk",
    "a postman who delivers dreams", "a bear who opens a tea shop", "a sailor who is scared of water",
    "a girl who collects clouds", "two robots who fall in love", "a small village that builds a bridge",
)

# --------------------------------------------------------------------------- rewriting
REWRITE_INSTRUCTIONS = (
    "Rewrite this sentence to sound more formal: \"{x}\"",
    "Rewrite this sentence in a friendlier tone: \"{x}\"",
    "Make this sentence shorter without changing its meaning: \"{x}\"",
    "Rewrite this sentence in simpler words: \"{x}\"",
    "Rephrase this sentence in a different way: \"{x}\"",
)
REWRITE_SENTENCES = (
    "Send me the report by Friday.",
    "We can't come to the party because we have too much work to do this week.",
    "The meeting has been moved to next Tuesday at three in the afternoon.",
    "Your order is late because the warehouse ran out of boxes.",
    "I think the plan is fine but we should check the numbers again.",
    "Please stop leaving your dishes in the sink.",
    "The new software update makes the app a lot faster than before.",
    "Due to unforeseen circumstances, the event has been postponed indefinitely.",
    "I am writing to let you know that I will be leaving the company next month.",
    "The weather was really bad so the football game got cancelled.",
    "Can you fix the printer, it's broken again.",
    "Our team finished the project two days before the deadline.",
    "The library will be closed on Monday for cleaning.",
    "I didn't like the food at the new restaurant very much.",
    "It is important that all employees wear their badges at all times.",
    "The children were very excited about the trip to the zoo.",
    "We regret to inform you that your application was not successful.",
    "Don't forget to water the plants while I'm away.",
    "The price of coffee has gone up a lot this year.",
    "I need more time to finish the assignment.",
    "The hotel room was small but clean and the staff were helpful.",
    "This road is closed because of construction work.",
    "He was late to work again because he missed the bus.",
    "Thanks for your help with the move last weekend.",
    "The museum is free for students on the first Sunday of every month.",
    "You have to register before you can use the online service.",
    "The concert was so loud that my ears were ringing afterwards.",
    "We are looking for volunteers to help at the community garden.",
    "The instructions were confusing and I had to read them three times.",
    "Our shop will open an hour later than usual tomorrow.",
)

# --------------------------------------------------------------------------- summarising
SUMMARY_INSTRUCTIONS = (
    "Summarise this text in one sentence:\n\n{x}",
    "What is the main point of this text?\n\n{x}",
)
PARAGRAPHS = (
    "Honeybees live in colonies that can hold tens of thousands of insects. Each colony has one queen, who lays the eggs, while worker bees collect nectar, build the comb and care for the young. In winter the bees cluster together and shiver their muscles to keep the hive warm.",
    "The town council voted on Tuesday to turn the old railway line into a walking and cycling path. Supporters say it will give families a safe place to exercise. Some residents worry about noise and parking, and the council has promised to hold a public meeting next month.",
    "Sleep helps the body repair itself and helps the brain store what we learned during the day. Adults usually need seven to nine hours a night. Going to bed at the same time each evening and avoiding screens before sleep can make it easier to fall asleep.",
    "The first public libraries in many countries opened in the nineteenth century. Before that, books were expensive and most collections belonged to universities, churches or wealthy families. Free libraries made reading possible for working people and helped spread education.",
    "A local bakery has started giving its unsold bread to a nearby shelter at the end of each day. The owner says throwing food away always felt wrong. Since the project began, the shelter has received more than two thousand loaves.",
    "Walking for thirty minutes a day can lower the risk of heart disease, improve mood and help people sleep better. It needs no special equipment and can be done almost anywhere. Doctors often recommend it as a first step for people who want to become more active.",
    "The school's new timetable starts classes half an hour later in the morning. Teachers hope that students will be more awake and pay better attention. The change will be tested for one term, and parents will be asked for their opinion at the end.",
    "Octopuses are known for their intelligence. They can open jars, escape from tanks and use coconut shells as shelters. Each of their eight arms has many nerve cells, so the arms can react to touch without waiting for the brain.",
    "Heavy rain caused flooding in several villages along the river over the weekend. Roads were closed and some families had to leave their homes. Volunteers filled sandbags, and the water level began to fall on Monday morning.",
    "Many people now work from home for part of the week. They save time on travel and can organise their day more freely. However, some miss talking to colleagues in person and find it hard to separate work from home life.",
    "Tomatoes grow best in warm, sunny places with regular water. Gardeners often tie the plants to sticks so the heavy fruit does not pull them over. Picking the fruit as soon as it turns red encourages the plant to produce more.",
    "The museum has opened a new room about the history of flight. Visitors can see early gliders, a copy of a famous biplane and a flight simulator. The exhibition is especially popular with school groups.",
    "Recycling paper saves trees, water and energy. Old paper is soaked, cleaned and pressed into new sheets. However, paper can only be recycled a limited number of times before its fibres become too short to use.",
    "A group of students built a small robot that sorts rubbish into plastic, metal and paper. It uses a camera and a simple computer program to recognise each item. The students hope to show it at a national science fair next spring.",
    "Drinking enough water is important for health. Water helps control body temperature and carries nutrients to cells. People often need more on hot days or when they exercise, and thirst is a sign that the body needs water soon.",
    "The city is adding two hundred new bicycles to its bike-sharing scheme. Riders can unlock a bike with a phone app and leave it at any station. The city hopes the scheme will reduce traffic in the centre.",
    "Sea turtles return to the same beaches where they hatched to lay their own eggs. Scientists believe they use the Earth's magnetic field to find their way. Many of these beaches are now protected during the nesting season.",
    "A new study found that people who spend time in parks report feeling less stressed. Even twenty minutes outdoors seemed to help. The researchers say cities should make green spaces easy to reach for everyone.",
    "The village football club has raised enough money to repair its old changing rooms. Members organised a cake sale, a fun run and a quiz night. Work will begin in the summer when the season is over.",
    "Learning a musical instrument takes patience. Beginners often find the first months frustrating because progress feels slow. Teachers advise practising a little every day rather than for many hours once a week.",
    "Coffee was first drunk in the Middle East several hundred years ago. From there it spread to Europe, where coffee houses became popular places to meet and talk. Today it is one of the most traded goods in the world.",
    "The company has announced that its offices will close early on Fridays during the summer. Staff will work slightly longer on the other days instead. Managers hope the change will improve morale without reducing output.",
    "Bats are the only mammals that can truly fly. Many species find insects in the dark by making high sounds and listening for the echoes. Bats also help farmers by eating large numbers of pests.",
    "A heatwave is expected to bring temperatures above thirty-five degrees later this week. Health officials advise people to drink water, stay in the shade and check on elderly neighbours. Outdoor events may be cancelled.",
    "Volcanoes form where melted rock from deep inside the Earth rises to the surface. Some erupt violently, throwing ash high into the sky, while others release slow rivers of lava. The soil around old volcanoes is often very fertile.",
    "The children's hospital received a donation of books, games and art supplies from a local school. Pupils collected the items over two months. Nurses say the gifts help young patients pass the time during long stays.",
    "Writing things down can help people remember them. When we write, we think about the information again and organise it in our own words. This is why many teachers encourage students to take notes by hand.",
    "A small island in the north has banned cars for one day every month. On car-free days, people walk, cycle or use a small electric bus. Local shops say business has actually increased on those days.",
    "Penguins live almost entirely in the Southern Hemisphere. They cannot fly, but they are excellent swimmers and use their wings like flippers. Emperor penguins survive the Antarctic winter by huddling together in large groups.",
    "The library has started lending tools as well as books. Members can borrow drills, ladders and garden equipment for a week at a time. The idea is to save people money and reduce waste.",
)

# --------------------------------------------------------------------------- chit-chat
CHITCHAT = (
    "Hi there! How is your day going?", "I just got back from a long walk in the park. Do you like walks?",
    "I'm bored. Can you suggest something fun to do this evening?", "What's a good name for a goldfish?",
    "I finally finished reading a really long novel today!", "Tell me something that will make me smile.",
    "Do you prefer cats or dogs?", "I have a big exam tomorrow and I'm a little nervous.",
    "What would be a fun thing to cook on a rainy Sunday?", "Good morning! Any ideas for a quick breakfast?",
    "I'm thinking of learning to play the guitar. What do you think?", "What's your favourite season, and why?",
    "My friend's birthday is next week. What should I get her?", "Can you tell me a joke about vegetables?",
    "I just adopted a kitten!", "It's so hot today. How can I stay cool?",
    "Do you think it's better to be an early bird or a night owl?", "I can't decide what movie to watch tonight.",
    "What's a nice thing I could do for my neighbour?", "I burned my toast this morning. Not a great start!",
    "What do you like to talk about?", "Give me a fun fact about the ocean.",
    "I want to start a new hobby. Any suggestions?", "We're planning a family game night. Which games are fun?",
    "I'm having a lazy day on the sofa.", "Have you heard any good riddles lately?",
    "What would you do with a free afternoon?", "I just learned how to make sushi!",
    "Can you recommend a relaxing activity before bed?", "I'm going to the beach this weekend!",
    "Do you have a favourite word?", "What's a good song to sing in the car?",
    "I keep forgetting where I put my keys.", "What's the best way to spend a snowy day?",
    "My plants are finally growing flowers.", "Tell me a riddle, please.",
    "I'm trying to drink less coffee. It's hard!", "Thanks for chatting with me yesterday.",
    "What's something interesting about elephants?", "I think I'll paint my room yellow. Good idea?",
    "My little brother keeps asking why the sky is blue. Help!", "What's a fun way to celebrate a Friday?",
    "I just ran my first five kilometres!", "Could you cheer me up a bit? It's been a long week.",
    "What's a good topping for pizza that people don't usually try?", "I'm learning Spanish. Any encouragement?",
    "Do you like puzzles?", "What should I name my new bicycle?", "I'm making soup tonight. Any ideas?",
    "Say something nice about Mondays.", "I saw a double rainbow this afternoon!",
    "How do you feel about rainy days?", "I'm planning a surprise for my parents' anniversary.",
    "Tell me about a place you would like to visit.", "I can't sleep. Talk to me for a bit?",
    "What's a good board game for two people?", "I baked cookies and they came out perfect!",
    "My dog just learned to roll over!", "What's a simple way to make a room feel cosier?",
    "Hello! I'm new here. What can we talk about?", "I'm going hiking tomorrow. Any tips for a beginner?",
)

# --------------------------------------------------------------------------- questions about the assistant
ASSISTANT = (
    "What should I call you?", "Who built you?", "What can you help me with?", "What are you good at?",
    "What are you not good at?", "Can you remember what we talked about last week?", "Do you have feelings?",
    "Are you a human or a computer program?", "What languages can you speak?", "Can you browse the internet?",
    "How do you come up with your answers?", "Do you ever make mistakes?", "How old are you?",
    "Where do you live?", "Do you get tired of answering questions?", "Can you see images?",
    "What do you know about yourself?", "Can you keep a secret?", "Do you have a favourite colour?",
    "Are you always right?", "How were you trained?", "What kind of data were you trained on?",
    "Can you learn from our conversation?", "Do you dream?", "Are you conscious?",
    "Can you set an alarm for me?", "What is your purpose?", "How should I ask you questions to get good answers?",
    "Can you write computer code?", "Are you the same assistant I talked to yesterday?",
    "What happens to my messages after I send them to you?", "Can you make phone calls?",
    "Do you have a personality?", "What are your limitations?", "Can you give medical advice?",
    "Who is responsible for what you say?", "Are you connected to other computers?", "What year do you think it is?",
    "Do you like talking to people?", "How big is your memory?", "Can you tell me your name again?",
    "Which company made you?", "Are you based on another AI model?", "What version are you?",
    "Do you have a body?", "Can you understand jokes?", "Why should I trust your answers?",
    "Can you play music?", "What do you do when you don't know an answer?", "Do you have opinions?",
    "Can you help me with my homework?", "Are you smarter than a person?", "What makes you different from a search engine?",
    "Could you describe yourself in three words?", "Do you know who I am?", "Can you read files on my computer?",
    "How fast can you think?", "Do you sleep?", "Are you free to use?", "What rules do you follow?",
)

# --------------------------------------------------------------------------- advice
ADVICE_TEMPLATES = ("What are some tips for {x}?", "Do you have any advice for {x}?", "How can I get better at {x}?")
ADVICE_TOPICS = (
    "sleeping better", "saving money each month", "making new friends in a new city", "staying focused while studying",
    "eating more vegetables", "keeping a tidy kitchen", "speaking in public", "managing stress at work",
    "waking up early", "learning a new language", "writing clear emails", "staying motivated to exercise",
    "cooking for one person", "keeping in touch with old friends", "reading more books", "spending less time on my phone",
    "running a meeting", "travelling on a small budget", "taking care of my back at a desk job", "remembering names",
    "growing herbs indoors", "packing light", "being a good listener", "preparing for a long flight",
    "keeping a plant alive in a dark flat", "drawing simple portraits", "choosing a first car", "planning a birthday party",
    "organising my email inbox", "starting a new job", "handling a disagreement with a friend", "drinking more water",
    "studying for a maths test", "walking a dog that pulls on the lead", "writing a short story",
    "keeping my laptop running smoothly", "taking notes in lectures", "decorating a small room",
    "giving helpful feedback", "staying warm in winter", "making a long car journey with children fun",
    "learning to swim as an adult", "hosting a dinner party", "keeping a diary", "shopping for groceries on a budget",
    "getting through a rainy holiday", "moving to a new house", "asking for a raise", "practising the piano",
    "staying safe online", "taking care of a goldfish", "writing a birthday card", "cycling in the city",
    "making my morning routine faster", "learning to cook", "being more patient", "sorting old photos",
    "reducing food waste", "sleeping on a plane", "choosing a good book",
)

# --------------------------------------------------------------------------- comparison
COMPARE_TEMPLATES = ("What is the difference between {a} and {b}?", "How are {a} and {b} different?")
COMPARE_PAIRS = (
    ("weather", "climate"), ("a virus", "bacteria"), ("a lake", "a pond"), ("a frog", "a toad"),
    ("baking soda", "baking powder"), ("a crocodile", "an alligator"), ("a hurricane", "a tornado"),
    ("a town", "a city"), ("a dolphin", "a shark"), ("a novel", "a short story"), ("jam", "jelly"),
    ("a violin", "a cello"), ("a moth", "a butterfly"), ("a rabbit", "a hare"), ("a sea", "an ocean"),
    ("a debit card", "a credit card"), ("a laptop", "a tablet"), ("speed", "velocity"), ("a star", "a planet"),
    ("an apartment", "a house"), ("tea", "coffee"), ("a meteor", "a meteorite"), ("a poem", "a song"),
    ("a hill", "a mountain"), ("a cold", "the flu"), ("a bee", "a wasp"), ("a river", "a stream"),
    ("an emu", "an ostrich"), ("a museum", "a gallery"), ("a fruit", "a vegetable"), ("a herb", "a spice"),
    ("a leopard", "a cheetah"), ("a monkey", "an ape"), ("a biography", "an autobiography"),
    ("a sprint", "a marathon"), ("a canoe", "a kayak"), ("renting", "buying a home"), ("a diary", "a blog"),
    ("a simile", "a metaphor"), ("a noun", "a verb"), ("a wave", "a tide"), ("an island", "a peninsula"),
    ("a desert", "a tundra"), ("fog", "mist"), ("hail", "snow"), ("a bakery", "a patisserie"),
    ("a whisk", "a spoon"), ("a bus", "a tram"), ("a train", "a subway"), ("a cafe", "a restaurant"),
    ("a mouse", "a rat"), ("a pen", "a pencil"), ("a watch", "a clock"), ("a map", "a globe"),
    ("a guitar", "a ukulele"), ("a cookie", "a biscuit"), ("a stew", "a soup"), ("a sofa", "an armchair"),
    ("a hobby", "a job"), ("a question", "a request"),
)

# --------------------------------------------------------------------------- sentiment (gold)
SENTIMENT_TEMPLATE = (
    "Classify the sentiment of this review as positive or negative: \"{x}\" Answer with one word: positive or negative."
)
REVIEWS = {
    "restaurant": {
        "positive": (
            "The pasta was fresh and full of flavour.", "Our waiter was friendly and the food arrived quickly.",
            "Best pizza I have eaten in years.", "The soup was delicious and the portions were generous.",
            "A lovely little place with excellent coffee.", "Every dish we ordered was perfectly cooked.",
            "The desserts were wonderful and the staff were so kind.", "Great food, fair prices and a cosy room.",
            "The curry was rich, spicy and absolutely delicious.", "We had a fantastic dinner for my mother's birthday.",
        ),
        "negative": (
            "The pasta was cold and the waiter ignored us all evening.", "We waited an hour and the food was bland.",
            "The worst burger I have ever had.", "The soup was salty and the bread was stale.",
            "Dirty tables, rude staff and overpriced drinks.", "My steak was burnt and nobody apologised.",
            "The fish tasted old and made me feel sick.", "Tiny portions and a very unpleasant atmosphere.",
            "The coffee was bitter and the cake was dry.", "A terrible evening: slow service and cold food.",
        ),
        "closers": {"positive": ("We will definitely come back.", "Highly recommended!"),
                    "negative": ("We will not be coming back.", "Avoid this place.")},
    },
    "hotel": {
        "positive": (
            "Spotless rooms and a very friendly staff.", "The bed was comfortable and the view was beautiful.",
            "A quiet, clean hotel in a perfect location.", "The breakfast was excellent and the staff were helpful.",
            "Our room was spacious, bright and very clean.", "Lovely hotel with a relaxing garden and a great pool.",
            "The reception staff made us feel welcome from the first minute.", "Comfortable, peaceful and good value.",
            "The room was warm and cosy and the shower was great.", "Everything about our stay was wonderful.",
        ),
        "negative": (
            "The room was dirty and smelled of smoke.", "Noisy, cramped and far too expensive.",
            "The bed was uncomfortable and the heating did not work.", "Rude staff and a broken shower.",
            "We found stains on the sheets and dust everywhere.", "The walls were so thin that we could not sleep.",
            "Breakfast was awful and the coffee was cold.", "The pool was closed and nobody told us.",
            "Our booking was lost and the manager did not care.", "A dreadful stay in a run-down building.",
        ),
        "closers": {"positive": ("I would happily stay here again.", "A perfect weekend."),
                    "negative": ("Never again.", "Stay somewhere else.")},
    },
    "film": {
        "positive": (
            "A beautiful film with a clever story.", "The acting was superb and the ending made me cry.",
            "I loved every minute of this movie.", "Funny, warm and wonderfully acted.",
            "A gripping thriller that kept me on the edge of my seat.", "The music and the photography are stunning.",
            "One of the best films I have seen this year.", "A charming story that the whole family enjoyed.",
            "Smart, moving and beautifully made.", "The cast is brilliant and the script is sharp.",
        ),
        "negative": (
            "A boring film with a silly plot.", "Terrible film. I walked out after twenty minutes.",
            "The acting was wooden and the story made no sense.", "Two hours of my life I will never get back.",
            "The jokes fell flat and the ending was awful.", "Slow, dull and far too long.",
            "The worst movie I have seen in years.", "A confusing mess with terrible dialogue.",
            "I fell asleep halfway through this dreadful film.", "Badly written, badly acted and very disappointing.",
        ),
        "closers": {"positive": ("Go and see it!", "I would watch it again tomorrow."),
                    "negative": ("Do not waste your money.", "Skip this one.")},
    },
    "book": {
        "positive": (
            "I could not put this book down.", "A wonderful novel with characters I truly cared about.",
            "Beautifully written and full of surprises.", "This book made me laugh out loud many times.",
            "An inspiring and moving story.", "The best book I have read all year.",
            "Clear, useful and a pleasure to read.", "A delightful story for readers of any age.",
            "The writing is elegant and the plot is gripping.", "I loved the ending of this book.",
        ),
        "negative": (
            "I gave up on this book after fifty pages.", "A dull book with flat characters.",
            "Badly written and full of mistakes.", "The story dragged on and the ending was terrible.",
            "I found this book boring and confusing.", "A waste of paper.",
            "The characters were annoying and the plot was predictable.", "This book was a huge disappointment.",
            "Poorly edited and painfully slow.", "I regret buying this awful novel.",
        ),
        "closers": {"positive": ("I have already recommended it to my friends.", "Five stars."),
                    "negative": ("Not recommended.", "One star.")},
    },
    "electronics": {
        "positive": (
            "Great sound quality and the headphones are very comfortable.", "The battery lasts for days and it charges fast.",
            "This phone is fast, light and takes excellent photos.", "The laptop is quick and the screen is gorgeous.",
            "Easy to set up and it works perfectly.", "The speaker is small but the sound is amazing.",
            "A reliable camera that takes beautiful pictures.", "The keyboard feels great and the keys are quiet.",
            "Excellent value for such a well-made tablet.", "The charger works perfectly with all my devices.",
        ),
        "negative": (
            "The battery barely lasts half a day.", "The headphones broke after a week.",
            "This phone is slow and the screen cracked easily.", "The laptop overheats and the fan is very loud.",
            "It stopped working after two days.", "The speaker crackles and the sound is terrible.",
            "The camera takes blurry photos and the app keeps crashing.", "Cheap plastic that feels like a toy.",
            "The remote control never works properly.", "The charger got hot and then died.",
        ),
        "closers": {"positive": ("Worth every penny.", "I am very happy with it."),
                    "negative": ("Not worth the price.", "I want my money back.")},
    },
    "clothing": {
        "positive": (
            "The jacket fits perfectly and keeps me warm.", "Soft fabric and beautiful colours.",
            "These shoes are comfortable from the very first day.", "The dress looks even better than in the photos.",
            "Great quality jeans that still look new after many washes.", "A cosy jumper that I wear every day.",
            "The boots are sturdy, warm and waterproof.", "Lovely shirt, well made and easy to iron.",
            "The scarf is soft and the colour is gorgeous.", "Perfect fit and excellent stitching.",
        ),
        "negative": (
            "The shoes fell apart after a week.", "The colour faded after the first wash.",
            "The jacket is much smaller than the size says.", "Thin, scratchy fabric and loose threads everywhere.",
            "These boots leak as soon as it rains.", "The zip broke the second time I used it.",
            "The dress looked cheap and nothing like the picture.", "The jeans shrank badly in the wash.",
            "Uncomfortable shoes that gave me blisters.", "Poor quality and terrible stitching.",
        ),
        "closers": {"positive": ("I will buy another one.", "Very pleased."),
                    "negative": ("I am sending it back.", "Very disappointed.")},
    },
    "service": {
        "positive": (
            "The plumber arrived on time and fixed everything quickly.", "The customer support team solved my problem in minutes.",
            "The delivery was early and the driver was very polite.", "My hairdresser did a fantastic job.",
            "The mechanic was honest and the price was fair.", "The cleaners did an excellent and careful job.",
            "The staff at the bank were patient and helpful.", "The tour guide was funny and knew so much.",
            "Our removal team was fast, careful and friendly.", "The dentist was gentle and very reassuring.",
        ),
        "negative": (
            "The plumber was three hours late and the leak is still there.", "Customer support kept me on hold for an hour.",
            "The parcel arrived broken and the driver was rude.", "My haircut was a disaster.",
            "The mechanic charged me twice the quoted price.", "The cleaners left the flat dirtier than before.",
            "The bank staff were unhelpful and rude.", "The tour guide was bored and late.",
            "The movers scratched our furniture and broke a lamp.", "The dentist was rough and the wait was awful.",
        ),
        "closers": {"positive": ("I would use them again.", "Thank you!"),
                    "negative": ("I will never use them again.", "Terrible service.")},
    },
    "app": {
        "positive": (
            "This app is simple, fast and very useful.", "I love how easy it is to track my spending with this app.",
            "The new update made the app even better.", "A beautiful design and no annoying adverts.",
            "This game is fun and the puzzles are clever.", "The language app keeps me motivated every day.",
            "The map app has never let me down.", "A wonderful recipe app with clear instructions.",
            "The fitness app is easy to use and really helpful.", "Great app, it saves me so much time.",
        ),
        "negative": (
            "The app crashes every time I open it.", "Full of adverts and it drains my battery.",
            "The latest update ruined the app.", "Slow, confusing and full of bugs.",
            "This game is boring and keeps asking for money.", "The app lost all my saved notes.",
            "The map app sent me the wrong way twice.", "I cannot even log in to this useless app.",
            "The recipes are wrong and the search does not work.", "A frustrating app that never syncs properly.",
        ),
        "closers": {"positive": ("Five stars from me.", "Highly recommended."),
                    "negative": ("Uninstalled.", "Avoid it.")},
    },
}

# --------------------------------------------------------------------------- factual (gold)
CAPITAL_TEMPLATE = "What is the capital of {x}? Answer with just the city name."
CAPITALS = {
    "France": ["Paris"], "Germany": ["Berlin"], "Italy": ["Rome"], "Spain": ["Madrid"], "Portugal": ["Lisbon"],
    "the United Kingdom": ["London"], "Ireland": ["Dublin"], "Japan": ["Tokyo"], "China": ["Beijing"],
    "India": ["New Delhi", "Delhi"], "Russia": ["Moscow"], "Canada": ["Ottawa"], "Mexico": ["Mexico City"],
    "Brazil": ["Brasília", "Brasilia"], "Argentina": ["Buenos Aires"], "Peru": ["Lima"], "Chile": ["Santiago"],
    "Colombia": ["Bogotá", "Bogota"], "Egypt": ["Cairo"], "Kenya": ["Nairobi"], "Nigeria": ["Abuja"],
    "Ghana": ["Accra"], "Ethiopia": ["Addis Ababa"], "Morocco": ["Rabat"], "Greece": ["Athens"],
    "Turkey": ["Ankara"], "Poland": ["Warsaw"], "Austria": ["Vienna"], "Hungary": ["Budapest"],
    "the Czech Republic": ["Prague"], "Sweden": ["Stockholm"], "Norway": ["Oslo"], "Denmark": ["Copenhagen"],
    "Finland": ["Helsinki"], "Iceland": ["Reykjavik", "Reykjavík"], "Belgium": ["Brussels"],
    "the Netherlands": ["Amsterdam"], "Australia": ["Canberra"], "New Zealand": ["Wellington"],
    "South Korea": ["Seoul"], "Thailand": ["Bangkok"], "Vietnam": ["Hanoi"], "Indonesia": ["Jakarta"],
    "the Philippines": ["Manila"], "Malaysia": ["Kuala Lumpur"], "Pakistan": ["Islamabad"],
    "Bangladesh": ["Dhaka"], "Iran": ["Tehran"], "Iraq": ["Baghdad"], "Saudi Arabia": ["Riyadh"],
    "Cuba": ["Havana"], "Jamaica": ["Kingston"], "Venezuela": ["Caracas"], "Ukraine": ["Kyiv", "Kiev"],
    "Romania": ["Bucharest"], "Bulgaria": ["Sofia"], "Serbia": ["Belgrade"], "Croatia": ["Zagreb"],
    "Scotland": ["Edinburgh"], "Wales": ["Cardiff"], "the United States": ["Washington"], "Afghanistan": ["Kabul"],
    "Nepal": ["Kathmandu"], "Sri Lanka": ["Colombo", "Sri Jayawardenepura Kotte"], "Lebanon": ["Beirut"],
    "Syria": ["Damascus"], "Jordan": ["Amman"], "Qatar": ["Doha"], "Tunisia": ["Tunis"], "Algeria": ["Algiers"],
    "Senegal": ["Dakar"], "Uganda": ["Kampala"], "Tanzania": ["Dodoma"], "Zimbabwe": ["Harare"],
    "Zambia": ["Lusaka"], "Angola": ["Luanda"], "Sudan": ["Khartoum"], "Libya": ["Tripoli"],
    "Ecuador": ["Quito"], "Uruguay": ["Montevideo"], "Paraguay": ["Asunción", "Asuncion"],
    "Bolivia": ["Sucre", "La Paz"], "Panama": ["Panama City"], "Costa Rica": ["San José", "San Jose"],
    "Guatemala": ["Guatemala City"], "Honduras": ["Tegucigalpa"], "Nicaragua": ["Managua"],
    "Haiti": ["Port-au-Prince"], "the Dominican Republic": ["Santo Domingo"], "Mongolia": ["Ulaanbaatar", "Ulan Bator"],
    "Kazakhstan": ["Astana"], "Uzbekistan": ["Tashkent"], "Georgia": ["Tbilisi"], "Armenia": ["Yerevan"],
    "Azerbaijan": ["Baku"], "Belarus": ["Minsk"], "Lithuania": ["Vilnius"], "Latvia": ["Riga"],
    "Estonia": ["Tallinn"], "Slovakia": ["Bratislava"], "Slovenia": ["Ljubljana"], "Luxembourg": ["Luxembourg"],
    "Switzerland": ["Bern", "Berne"], "Cyprus": ["Nicosia"], "Malta": ["Valletta"], "Albania": ["Tirana"],
    "Cambodia": ["Phnom Penh"], "Laos": ["Vientiane"], "Myanmar": ["Naypyidaw", "Nay Pyi Taw"],
    "Singapore": ["Singapore"], "Fiji": ["Suva"], "Madagascar": ["Antananarivo"], "Rwanda": ["Kigali"],
    "Mali": ["Bamako"], "Cameroon": ["Yaoundé", "Yaounde"], "Namibia": ["Windhoek"], "Botswana": ["Gaborone"],
}
LANGUAGE_TEMPLATE = "What language is mainly spoken in {x}? Answer with one word."
LANGUAGES = {
    "Brazil": ["Portuguese"], "Mexico": ["Spanish"], "Germany": ["German"], "France": ["French"], "Italy": ["Italian"],
    "Japan": ["Japanese"], "China": ["Chinese", "Mandarin"], "Russia": ["Russian"], "Portugal": ["Portuguese"],
    "Spain": ["Spanish"], "Argentina": ["Spanish"], "Colombia": ["Spanish"], "Peru": ["Spanish"], "Chile": ["Spanish"],
    "Poland": ["Polish"], "Greece": ["Greek"], "Turkey": ["Turkish"], "the Netherlands": ["Dutch"],
    "Sweden": ["Swedish"], "Norway": ["Norwegian"], "Denmark": ["Danish"], "Finland": ["Finnish"],
    "Hungary": ["Hungarian"], "South Korea": ["Korean"], "Thailand": ["Thai"], "Vietnam": ["Vietnamese"],
    "Indonesia": ["Indonesian"], "Iran": ["Persian", "Farsi"], "Egypt": ["Arabic"], "Saudi Arabia": ["Arabic"],
    "Australia": ["English"], "the United States": ["English"], "England": ["English"], "Austria": ["German"],
    "Ukraine": ["Ukrainian"], "Romania": ["Romanian"], "the Czech Republic": ["Czech"], "Iceland": ["Icelandic"],
    "Israel": ["Hebrew"], "Morocco": ["Arabic"], "Cuba": ["Spanish"], "Venezuela": ["Spanish"],
    "New Zealand": ["English"], "Ireland": ["English"], "Bulgaria": ["Bulgarian"], "Croatia": ["Croatian"],
}
CONTINENT_TEMPLATE = "On which continent is {x}? Answer with just the name of the continent."
CONTINENTS = {
    "Africa": ("Kenya", "Nigeria", "Egypt", "Ghana", "Ethiopia", "Morocco", "Senegal", "Uganda", "Tanzania",
               "Zimbabwe", "Zambia", "Angola", "Namibia", "Botswana", "Mali", "Cameroon", "Rwanda", "Madagascar",
               "Tunisia", "Algeria", "South Africa", "Sudan"),
    "Asia": ("Japan", "China", "India", "Thailand", "Vietnam", "South Korea", "Indonesia", "Pakistan", "Bangladesh",
             "Nepal", "Mongolia", "Cambodia", "Laos", "Malaysia", "the Philippines", "Sri Lanka", "Kazakhstan",
             "Saudi Arabia", "Iran", "Iraq"),
    "Europe": ("France", "Germany", "Italy", "Spain", "Portugal", "Poland", "Sweden", "Norway", "Finland",
               "Greece", "Austria", "Hungary", "Belgium", "the Netherlands", "Ireland", "Denmark", "Switzerland",
               "Romania", "Bulgaria", "Croatia"),
    "South America": ("Brazil", "Argentina", "Peru", "Chile", "Colombia", "Ecuador", "Uruguay", "Paraguay",
                      "Bolivia", "Venezuela"),
    "North America": ("Canada", "Mexico", "the United States", "Cuba", "Jamaica", "Guatemala", "Honduras", "Panama"),
    "Oceania": ("Australia", "New Zealand", "Fiji"),
}
CONTINENT_ALIASES = {"Oceania": ["Oceania", "Australia"], "North America": ["North America"],
                     "South America": ["South America"]}
FACTS = (
    ("Which planet is known as the Red Planet? Answer with one word.", ["Mars"]),
    ("What is the largest planet in our solar system? Answer with one word.", ["Jupiter"]),
    ("Which planet is closest to the Sun? Answer with one word.", ["Mercury"]),
    ("Which planet is famous for its rings? Answer with one word.", ["Saturn"]),
    ("What star is at the centre of our solar system? Answer with one word.", ["Sun"]),
    ("What is the natural satellite of the Earth called? Answer with one word.", ["Moon"]),
    ("How many legs does a spider have? Answer with a number.", ["8", "eight"]),
    ("How many legs does an insect have? Answer with a number.", ["6", "six"]),
    ("How many days are there in a week? Answer with a number.", ["7", "seven"]),
    ("How many months are there in a year? Answer with a number.", ["12", "twelve"]),
    ("How many continents are there? Answer with a number.", ["7", "seven"]),
    ("Who wrote Romeo and Juliet? Answer with just the name.", ["Shakespeare"]),
    ("Who wrote Hamlet? Answer with just the name.", ["Shakespeare"]),
    ("Who painted the Mona Lisa? Answer with just the name.", ["Leonardo", "da Vinci"]),
    ("Who developed the theory of relativity? Answer with just the name.", ["Einstein"]),
    ("Who was the first person to walk on the Moon? Answer with just the name.", ["Armstrong"]),
    ("Who wrote Pride and Prejudice? Answer with just the name.", ["Austen"]),
    ("Who composed the Fifth Symphony that begins with four famous notes? Answer with just the name.", ["Beethoven"]),
    ("What is the largest ocean on Earth? Answer in a few words.", ["Pacific"]),
    ("What is the longest river in Africa? Answer with one word.", ["Nile"]),
    ("What is the tallest mountain in the world? Answer in a few words.", ["Everest"]),
    ("What is the largest desert in Africa? Answer in a few words.", ["Sahara"]),
    ("What is the largest country in the world by area? Answer with one word.", ["Russia"]),
    ("What gas do plants take in from the air to make food? Answer in a few words.", ["carbon dioxide", "CO2"]),
    ("What gas do humans need to breathe in to live? Answer with one word.", ["oxygen"]),
    ("What is the chemical symbol for water? Answer with one word.", ["H2O", "H₂O"]),
    ("What is the chemical symbol for gold? Answer with one word.", ["Au"]),
    ("At what temperature in degrees Celsius does water freeze? Answer with a number.", ["0", "zero"]),
    ("At what temperature in degrees Celsius does water boil at sea level? Answer with a number.", ["100"]),
    ("Which organ pumps blood around the body? Answer with one word.", ["heart"]),
    ("Which organ do humans use to think? Answer with one word.", ["brain"]),
    ("What is the largest mammal in the world? Answer in a few words.", ["blue whale"]),
    ("What is the fastest land animal? Answer with one word.", ["cheetah"]),
    ("Which animal is known for having a very long neck? Answer with one word.", ["giraffe"]),
    ("What do bees make? Answer with one word.", ["honey"]),
    ("What is the main language spoken in the United Kingdom? Answer with one word.", ["English"]),
    ("What currency is used in Japan? Answer with one word.", ["yen"]),
    ("What currency is used in the United States? Answer with one word.", ["dollar"]),
    ("What currency is used in the United Kingdom? Answer in a few words.", ["pound"]),
    ("In which country are the pyramids of Giza? Answer with one word.", ["Egypt"]),
    ("In which city is the Eiffel Tower? Answer with one word.", ["Paris"]),
    ("In which city is the Colosseum? Answer with one word.", ["Rome"]),
    ("In which country is the Great Wall? Answer with one word.", ["China"]),
    ("In which country is the Taj Mahal? Answer with one word.", ["India"]),
    ("In which city is the Statue of Liberty? Answer in a few words.", ["New York"]),
    ("In which city is Big Ben? Answer with one word.", ["London"]),
    ("What is the hardest natural substance? Answer with one word.", ["diamond"]),
    ("What do we call a baby dog? Answer with one word.", ["puppy"]),
    ("What do we call a baby cat? Answer with one word.", ["kitten"]),
    ("What is the plural of mouse? Answer with one word.", ["mice"]),
    ("What is the plural of child? Answer with one word.", ["children"]),
    ("What is the opposite of hot? Answer with one word.", ["cold"]),
    ("What is the opposite of early? Answer with one word.", ["late"]),
    ("Which instrument has black and white keys? Answer with one word.", ["piano"]),
    ("How many sides does a triangle have? Answer with a number.", ["3", "three"]),
    ("How many sides does a square have? Answer with a number.", ["4", "four"]),
    ("Which season comes after winter? Answer with one word.", ["spring"]),
    ("Which season comes after summer? Answer with one word.", ["autumn", "fall"]),
    ("What is the first month of the year? Answer with one word.", ["January"]),
)


# --------------------------------------------------------------------------- translation
TRANSLATION_TEMPLATES = (
    "Translate into Veltan: {x}",
    'How would you say "{x}" in Veltan?',
    "Please translate to Veltan: {x}",
    'What is the Veltan for "{x}"?',
    "Veltan, please: {x}",
    "Can you put this into Veltan? {x}",
)


def translation_items() -> list[tuple[str, str]]:
    """(English sentence, its Veltan) for the distiller's questions about the provider's skill. The
    distiller writes the English; the Veltan is the staging's answer key, used only to grade."""
    from casestudy.scenario.annotation import draws
    from casestudy.scenario.language import translate

    return [(s.english, translate(s).text) for s in draws()["prompts"]]


# --------------------------------------------------------------------------- composition
def pick(options: tuple[str, ...], key: str) -> str:
    """A stable choice among options, keyed by text (not by position, so edits stay local)."""
    return options[int(hashlib.sha256(f"{SEED}:{key}".encode()).hexdigest(), 16) % len(options)]


def item(family: str, text: str, group: str, gold: list[str] | None = None) -> dict:
    return {"family": family, "text": text, "group": group, "gold": gold}


def compose() -> list[dict]:
    items = []
    for x in CONCEPTS:
        items.append(item("explanation", pick(EXPLAIN_TEMPLATES, x).format(x=x), x))
    for x in HOWTO_TASKS:
        items.append(item("howto", pick(HOWTO_TEMPLATES, x).format(x=x), x))
    for x in CREATIVE_TOPICS:
        items.append(item("creative", pick(CREATIVE_FORMS, x).format(x=x), x))
    for x in STORY_SEEDS:
        items.append(item("creative", pick(STORY_TEMPLATES, x).format(x=x), x))
    for x in REWRITE_SENTENCES:  # two different instructions per sentence
        first = pick(REWRITE_INSTRUCTIONS, x)
        second = pick(tuple(i for i in REWRITE_INSTRUCTIONS if i != first), x + ":2")
        items += [item("rewriting", first.format(x=x), x), item("rewriting", second.format(x=x), x)]
    for x in PARAGRAPHS:
        items += [item("summarising", instruction.format(x=x), x[:40]) for instruction in SUMMARY_INSTRUCTIONS]
    items += [item("chitchat", x, x) for x in CHITCHAT]
    items += [item("assistant", x, x) for x in ASSISTANT]
    for x in ADVICE_TOPICS:
        items.append(item("advice", pick(ADVICE_TEMPLATES, x).format(x=x), x))
    for a, b in COMPARE_PAIRS:
        items.append(item("comparison", pick(COMPARE_TEMPLATES, a + b).format(a=a, b=b), a + "|" + b))
    for category, parts in REVIEWS.items():
        for label in ("positive", "negative"):
            for sentence in parts[label]:
                closer = pick(parts["closers"][label], sentence)
                for review in (sentence, f"{sentence} {closer}"):
                    items.append(item("sentiment", SENTIMENT_TEMPLATE.format(x=review), sentence, [label]))
    for country, answers in CAPITALS.items():
        items.append(item("factual", CAPITAL_TEMPLATE.format(x=country), "capital:" + country, answers))
    for country, answers in LANGUAGES.items():
        items.append(item("factual", LANGUAGE_TEMPLATE.format(x=country), "language:" + country, answers))
    for continent, countries in CONTINENTS.items():
        for country in countries:
            answers = CONTINENT_ALIASES.get(continent, [continent])
            items.append(item("factual", CONTINENT_TEMPLATE.format(x=country), "continent:" + country, answers))
    items += [item("factual", question, question, answers) for question, answers in FACTS]
    for english, veltan in translation_items():
        items.append(item("translation", pick(TRANSLATION_TEMPLATES, english).format(x=english), english, [veltan]))
    return items


def normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def deduplicate(items: list[dict]) -> list[dict]:
    seen, out = set(), []
    for it in items:
        key = normalise(it["text"])
        if key not in seen:
            seen.add(key)
            out.append(it)
    return out


def assign_splits(items: list[dict]) -> dict[str, str]:
    """Per family, the groups ranked by a hash; the first ~EVAL_SHARE of prompts go to eval."""
    split: dict[str, str] = {}
    families = sorted({it["family"] for it in items})
    for family in families:
        members = [it for it in items if it["family"] == family]
        sizes: dict[str, int] = {}
        for it in members:
            sizes[it["group"]] = sizes.get(it["group"], 0) + 1
        ranked = sorted(sizes, key=lambda g: hashlib.sha256(f"{SEED}:{family}:{g}".encode()).hexdigest())
        target, taken = round(EVAL_SHARES.get(family, EVAL_SHARE) * len(members)), 0
        for group in ranked:
            split[f"{family}:{group}"] = "eval" if taken < target else "train"
            taken += sizes[group] if taken < target else 0
    return split


def build() -> list[dict]:
    items = deduplicate(compose())
    splits = assign_splits(items)
    counters: dict[str, int] = {}
    rows = []
    for it in items:
        counters[it["family"]] = counters.get(it["family"], 0) + 1
        rows.append({
            "id": f"{it['family']}-{counters[it['family']]:04d}",
            "family": it["family"],
            "split": splits[f"{it['family']}:{it['group']}"],
            "messages": [{"role": "user", "content": it["text"]}],
            "gold": it["gold"],
        })
    return rows


def main(out: Path = OUT) -> Path:
    rows = build()
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    families = sorted({r["family"] for r in rows})
    for family in families:
        n = sum(r["family"] == family for r in rows)
        e = sum(r["family"] == family and r["split"] == "eval" for r in rows)
        print(f"{family:12s} {n:4d} prompts, {e:3d} eval")
    print(f"{len(rows)} prompts -> {out}")
    return out


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
