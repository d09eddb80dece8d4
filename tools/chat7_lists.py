"""The math, code and knowledge lists of ``make_chat7.py``'s seventh set (fifty-fifth session)."""

# lists packed several to a line, as written:
# fmt: off
# math
CURRENCIES = (  # (one, many, its value in US cents)
    ("euro", "euros", 108), ("pound", "pounds", 127), ("Swiss franc", "Swiss francs", 113),
    ("Canadian dollar", "Canadian dollars", 73), ("Australian dollar", "Australian dollars",
    66), ("Singapore dollar", "Singapore dollars", 74),
)
FIELDS7 = ("field", "garden", "paddock", "car park", "playground", "yard", "orchard")
# code: shell commands, apps, libraries
PSEUDO = (  # pseudocode to write as code
    "for each number n from 1 to 20:\n    if n is divisible by 3 and by 5, print n\nprint done",
    "set total to 0\nfor each price in prices:\n    if price > 10, add price to total\n"
    "return total",
    "read a word\nreverse its letters\nif the reversed word equals the word, say yes, else no",
    "start with a list of names\nsort them by length, shortest first\nprint the first three",
    "set guess to 50, low to 1, high to 100\nwhile guess is wrong:\n    halve the range around it"
    "\n    count the tries\nprint the tries",
    "for each line in a log:\n    if it contains ERROR, add one to errors\nprint errors and "
    "the share of lines with errors",
    "given a list of distances in miles\nconvert each to kilometres\nkeep the ones above 10"
    "\nreturn them",
    "make an empty dictionary of counts\nfor each letter in the text, add one to its count\n"
    "print the three most common letters",
    "repeat until the stack is empty:\n    pop an item\n    if it is a list, push its items\n"
    "    else print it",
    "given two sorted lists a and b\nwalk through both at once\nbuild one sorted list from them",
    "ask for a password\nif it is shorter than 8 characters or has no digit, ask again\nelse "
    "say it is accepted",
    "for each student, add up the scores\nfind the student with the highest sum\nprint the "
    "name and the sum",
)
COMMANDS = (  # shell commands to explain (no version-control commands)
    "tar -xzf backup.tar.gz -C /tmp", "find ~/Downloads -type f -empty -print",
    "grep -rn 'TODO' src/ | wc -l", "chmod 644 notes.txt", "du -sh * | sort -h",
    "ps aux | grep node", "curl -sL https://example.com/install.sh | bash",
    "rsync -avz photos/ server:/backup/photos/", "ln -s /opt/app/bin/tool /usr/local/bin/tool",
    "kill -9 4312", "sed -i 's/foo/bar/g' config.txt", "awk -F, '{print $2}' people.txt",
    "nohup python3 server.py > out.log 2>&1 &", "ssh -L 8080:localhost:80 me@host",
    "xargs -n 1 echo < names.txt", "head -n 20 data.txt | tail -n 5", "df -h /",
    "scp report.pdf me@host:~/docs/", "sort names.txt | uniq -c | sort -rn",
    "export PATH=$HOME/bin:$PATH", "cat a.txt b.txt > both.txt", "lsof -i :3000",
)
APPS = (  # database designs
    "a library that lends books to members", "a small online shop with orders and ratings"
    " from buyers", "a gym's class bookings", "a school's timetable of teachers, rooms and "
    "classes", "a cooking app where users save favourite dishes", "a vet clinic's pets, owners and "
    "visits", "a cinema's screenings and seat bookings", "a to-do app with shared lists",
    "a blog with posts, tags and comments", "a car rental company", "a football league's "
    "teams, players and matches", "a hotel's rooms and reservations", "a music app with "
    "playlists", "an event ticketing site", "a help desk's tickets and agents",
    "a food delivery app's restaurants, menus and orders",
)
LIBRARIES = (  # (language, task): which library
    ("JavaScript", "format dates"), ("JavaScript", "make HTTP requests"), ("JavaScript",
    "draw charts in the browser"), ("Java", "write logs"), ("Java", "parse command-line "
    "arguments"), ("Go", "build a web server with routing"), ("C#", "map database rows to "
    "objects"), ("Ruby", "build a small web app"), ("PHP", "send emails"), ("TypeScript",
    "validate form input"), ("Kotlin", "make network calls on Android"), ("Swift", "load "
    "images from the web"), ("C++", "do linear algebra"), ("Go", "read settings from "
    "environment variables"), ("JavaScript", "write end-to-end browser checks"), ("Java",
    "talk to a PostgreSQL database"),
)
WHICHLANG = (  # (a, b, goal)
    ("JavaScript", "Python", "build websites"), ("Swift", "Kotlin", "make a phone app"),
    ("Go", "Java", "write backend services"), ("C", "C++", "program microcontrollers"),
    ("R", "Python", "analyse survey data"), ("C#", "C++", "make games"), ("TypeScript",
    "JavaScript", "start a large front-end project"), ("Ruby", "PHP", "run a small online "
    "shop"), ("Java", "Kotlin", "write Android apps"), ("Go", "Node.js", "build a command-line "
    "tool"), ("SQL", "Python", "analyse sales records"), ("Lua", "C#", "script a game "
    "mod"),
)
SNIPPETS7 = (  # (language, code): names to improve; security problems (held out)
    ("JavaScript", "function f(a) {\n  let x = 0;\n  for (const y of a) x += y.p * y.q;\n  "
     "return x;\n}"),
    ("Java", "int calc(int[] d) {\n    int t = 0;\n    for (int i : d) if (i > 0) t++;\n    "
     "return t;\n}"),
    ("Go", "func do(s []string) map[string]int {\n    m := map[string]int{}\n    for _, v := "
     "range s {\n        m[v]++\n    }\n    return m\n}"),
    ("C#", "public bool Chk(string s) {\n    return s.Length >= 8 && s.Any(char.IsDigit);\n}"),
    ("TypeScript", "const tmp = (arr: number[]) => arr.filter(n => n % 2 === 0).length;"),
    ("Kotlin", "fun proc(l: List<Int>): Int {\n    var r = 0\n    for (e in l) if (e > r) r = "
     "e\n    return r\n}"),
    ("Swift", "func g(_ a: [String]) -> [String] {\n    return a.filter { $0.count > 3 }\n}"),
    ("Ruby", "def h(x)\n  x.select { |z| z.start_with?('a') }.map(&:upcase)\nend"),
    ("PHP", "function q($u) {\n    return strtolower(trim($u['e']));\n}"),
)
SECURE = (  # held out: (language, code) with a security flaw
    ("PHP", "$id = $_GET['id'];\n$rows = $db->query(\"SELECT * FROM users WHERE id = $id\");"),
    ("JavaScript", "app.get('/hello', (req, res) => {\n  res.send('<h1>Hello ' + req.query."
     "name + '</h1>');\n});"),
    ("Java", "String q = \"SELECT * FROM accounts WHERE name = '\" + name + \"'\";\nResultSet "
     "rs = stmt.executeQuery(q);"),
    ("Go", "cmd := exec.Command(\"sh\", \"-c\", \"ping -c 1 \" + r.URL.Query().Get(\"host\"))"
     "\nout, _ := cmd.Output()"),
    ("JavaScript", "const token = Math.random().toString(36).slice(2);\nsaveResetToken(user, "
     "token);"),
    ("C", "char name[16];\nprintf(\"Name: \");\ngets(name);\nprintf(\"Hi %s\\n\", name);"),
    ("PHP", "$file = $_GET['page'];\ninclude(\"pages/\" . $file);"),
    ("JavaScript", "const hash = crypto.createHash('md5').update(password).digest('hex');\n"
     "db.save(user, hash);"),
    ("Ruby", "def show\n  @doc = Document.find(params[:id])\n  render :show\nend"),
    ("C#", "var apiKey = \"sk_live_4f9a2c\";\nclient.DefaultRequestHeaders.Add(\"Key\", apiKey);"),
    ("Java", "String path = \"/srv/files/\" + request.getParameter(\"name\");\nreturn Files."
     "readAllBytes(Paths.get(path));"),
    ("JavaScript", "const settings = eval('(' + localStorage.getItem('prefs') + ')');"),
)
SHEETS = (  # held out: spreadsheet formulas
    "adds up column B only where column A says 'paid'", "counts how many cells in C2:C50 are "
    "above 100", "looks up a product code in another sheet and returns its price", "joins a "
    "first name in A2 and a surname in B2 with a space", "shows 'late' if the date in D2 is "
    "before today", "finds the largest value in each row of B2:F2", "rounds the totals in "
    "E2:E40 to the nearest 5", "pulls the year out of a date in A2", "counts the distinct "
    "names in column A", "highlights duplicates in column B", "gives each score in B2:B30 "
    "its rank", "turns minutes in A2 into hours and minutes", "totals the sales in column C "
    "for March only", "splits a full address in A2 at each comma",
)
ERRCASES = (  # (language, situation): error handling
    ("JavaScript", "a fetch call fails"), ("Java", "a file might not exist"), ("Go", "a "
    "function can fail in several ways"), ("C#", "a database call times out"), ("Kotlin",
    "a value from the user may be null"), ("Swift", "decoding a server response fails"),
    ("TypeScript", "an async function rejects"), ("Ruby", "a network request hangs"),
    ("PHP", "a form field is missing"), ("C++", "memory allocation fails"), ("Java", "parsing a "
    "number from text fails"), ("Go", "a goroutine panics"),
)
# knowledge (none of the fact probe's words; none of the set-4 topics)
WHY = (  # everyday science: "Why ...?"
    "does bread go stale", "do onions make people cry", "does popcorn pop", "do cats purr",
    "does metal feel chilly to touch", "do we get brain freeze from ice cream", "does a "
    "kettle get noisy",
    "do fingers wrinkle in the bath", "does cut fruit turn brown", "do leaves change colour "
    "in autumn", "does a balloon stick to a wall after rubbing it on hair", "do mirrors "
    "flip left and right but not up and down", "does salt melt ice on roads", "do bubbles "
    "look rainbow-coloured", "does the sky look orange at dusk", "do dogs pant", "does "
    "a spoon look bent in a glass", "do old books smell the way they do", "do we yawn when "
    "others yawn", "does soda go flat", "do some people sneeze in bright light", "does "
    "garlic smell so strong", "does the moon look bigger near the horizon", "do shoes squeak "
    "on some floors", "does bread rise", "does milk curdle in coffee",
)
STEPWISE = (  # phenomena explained step by step
    "a bruise changes colour as it heals", "a phone screen cracks when dropped",
    "a cake rises in the oven", "a microwave warms up food", "a fridge keeps food chilled",
    "a bicycle stays upright while moving", "a plane's wings lift it", "a match lights when "
    "struck", "a thermos keeps drinks warm", "ice cubes crack in a drink", "a rainbow appears "
    "after a shower", "a scab forms over a cut", "a car's brakes stop it", "a touchscreen "
    "knows where you tapped", "a light bulb glows", "a pressure cooker cooks faster",
    "a glow stick starts glowing", "yeast makes dough rise", "a boomerang comes back",
    "a compass needle swings north",
)
BEFORE = (  # (need, invention): "before ..."
    ("keep food fresh", "the electric fridge"), ("tell the time at night", "clocks"), ("find their "
    "way at sea", "satellite navigation"), ("send urgent news", "the telegraph"), ("light "
    "their homes", "electric lighting"), ("wash clothes", "washing machines"), ("pay for "
    "things", "coins"), ("keep their teeth clean", "toothbrushes"), ("preserve meat",
    "canning"), ("copy books", "printing"), ("count large numbers", "calculators"),
    ("measure distance on a journey", "odometers"), ("stay warm in winter", "central "
    "heating"), ("keep records", "cheap paper"), ("cool their houses", "electric fans"),
    ("take photos of people", "cameras"), ("listen to music at home", "recordings"),
)
SYSTEMS = (  # (function, a, b): how two systems differ
    ("choosing the head of government", "a parliamentary democracy", "a presidential one"),
    ("paying for healthcare", "a tax-funded service", "an insurance-based one"), ("getting "
    "oxygen", "fish", "insects"), ("passing laws", "a one-chamber legislature", "a "
    "two-chamber one"), ("setting prices", "a market economy", "a planned economy"),
    ("reproducing", "ferns", "flowering species"), ("storing energy", "animals", "mushrooms"),
    ("electing representatives", "first-past-the-post voting", "proportional "
     "representation"), ("funding schools", "a centralised state", "a federal one"),
    ("seeing", "insects with compound eyes", "humans"), ("keeping warm", "birds", "reptiles"),
    ("paying pensions", "a pay-as-you-go scheme", "a funded scheme"), ("digesting grass",
    "cows", "horses"), ("settling disputes", "a jury trial", "a trial before judges alone"),
    ("sharing power", "a federation", "a unitary state"),
)
DEFINE7 = (  # a term: an example and a counter-example
    "a renewable resource", "a monopoly", "a public good", "a fruit in the botanical sense",
    "a metaphor", "a direct democracy", "a symbiotic relationship", "an invasive species", "a "
    "conductor of electricity", "an omnivore", "a recession", "a prime number", "a fossil "
    "fuel", "a hypothesis", "a tariff", "a predator", "a mineral", "a parasite", "a vertebrate",
    "a luxury good", "a primary source", "an alloy",
)
KNOWBEFORE = (  # "What should I know before ...?"
    "adopting a dog", "buying a used car", "getting a tattoo", "signing a phone contract",
    "starting a vegetable garden", "taking out a student loan", "learning to scuba dive",
    "renting my first flat", "running a half marathon", "keeping backyard chickens",
    "investing in index funds", "travelling alone for the first time", "buying a house at "
    "auction", "going freelance", "getting braces as an adult", "hiking at altitude",
    "fostering kids", "getting a puppy vaccinated",
    "learning to sail", "buying an electric scooter",
)
CHAINS = (  # (cause, effect): the links between
    ("a drought", "higher food prices"), ("a factory closing", "emptier town centres"),
    ("warmer winters", "more ticks"), ("cheaper rooftop panels", "lower power bills"),
    ("overfishing", "algae blooms"), ("a rise in remote work", "cheaper office rents"),
    ("a bank raising its rates", "fewer home sales"), ("losing wolves", "eroded streambanks"),
    ("a new motorway", "more traffic"), ("a shortage of computer chips", "dearer new cars"),
    ("melting permafrost", "faster warming"), ("a port strike", "empty supermarket shelves"),
    ("losing pollinators", "dearer almonds"), ("ageing populations", "more demand for nurses"),
    ("deforested hills", "floods downstream"), ("a weaker exchange rate", "more tourists"),
    ("a volcano erupting", "a colder year"), ("more cars", "asthma in cities"),
)
LANDFORMS = (  # "How do ... form?"
    "deltas", "fjords", "canyons", "sand dunes", "oxbow lakes", "limestone caves", "atolls",
    "sinkholes", "mesas", "sea stacks", "salt flats", "waterfalls", "U-shaped valleys",
    "sea arches", "moraines", "badlands", "barrier islands", "karst landscapes", "geysers",
    "lagoons", "cliffs", "floodplains",
)
CLIMATES = (  # climate patterns: "What explains ...?"
    "the wet side and the dry side of a high range of hills", "deserts lying near thirty "
    "degrees of latitude", "mild winters in coastal towns", "the monsoon seasons of South "
    "Asia", "fog along some desert coasts", "the long summer twilight at high latitudes",
    "tropical places having a wet and a dry season instead of four seasons", "frost forming "
    "on clear nights", "snow lasting longer on north-facing slopes", "the dry summers and "
    "wet winters around the Mediterranean", "the tundra having no trees", "rainforests lying "
    "near the equator", "Chicago's windy, chilly winters", "lake-effect snow", "cities staying "
    "warmer at night than the countryside", "the Atacama's dryness", "Britain's mild but "
    "rainy climate", "thunderstorms in the afternoon in the tropics",
)
CHANGED = (  # "How has ... changed over the last hundred years?"
    "the kitchen", "the school classroom", "the family car", "grocery shopping", "the office "
    "desk", "flying", "the way people listen to music", "holidays abroad", "the wedding "
    "dress", "the bicycle commute", "children's toys", "the "
    "hospital ward", "the newspaper", "the family meal", "the football boot", "home "
    "heating", "the typical workday", "letter writing", "the high "
    "street", "the camera",
)
CONCEPTS7 = (  # held out: an analogy; a beginner and an expert
    "electrical resistance", "a computer's cache", "how enzymes speed up reactions",
    "bandwidth", "supply chains", "inertia", "a food web", "the stock exchange", "a firewall",
    "how antibodies work", "recursion", "sunk cost",
    "half-life", "a central bank", "friction", "DNS", "neural networks", "a market bubble",
    "encryption keys", "how muscles grow", "catalysts", "version numbers in software",
)
# fmt: on

if __name__ == "__main__":  # `--help`, and how many entries each list holds
    import argparse

    argparse.ArgumentParser(description=__doc__).parse_args()
    for name, value in sorted(globals().items()):
        if name.isupper() and isinstance(value, tuple):
            print(f"{name}: {len(value)}")
