"""The demo's consultations: one open question per demo tenant, its themes and proposals.

Plain data, read by ``pnyx.seed``. Proposals are (text, theme slug); pending ones wait for the
tenant admin's moderation in the demo.
"""

from __future__ import annotations

BRETAGNE = {
    "slug": "vivre-en-bretagne",
    "question": "Comment améliorer les conditions de vie dans votre territoire ?",
    "context": (
        "La Région Bretagne ouvre une grande consultation citoyenne : logement, mobilités, "
        "santé, emploi, environnement… Proposez vos idées et votez sur celles des autres.\n\n"
        "Les propositions les plus soutenues seront travaillées en ateliers avec les élus, "
        "les associations et les citoyens, puis inscrites dans un plan d'action régional."
    ),
    "goals": (300_000, 10_000, 1_000_000),
    "visibility": "public",
    "tags": [
        ("mobilites", "Mobilités"),
        ("logement", "Logement"),
        ("sante", "Santé"),
        ("emploi", "Emploi et formation"),
        ("environnement", "Environnement"),
        ("services-publics", "Services publics"),
    ],
    "proposals": [
        ("Il faut plus de trains entre les petites villes et Rennes le soir", "mobilites"),
        ("Il faut des cars régionaux gratuits pour les moins de 26 ans", "mobilites"),
        ("Il faut sécuriser les pistes cyclables entre les communes rurales", "mobilites"),
        ("Il faut développer le covoiturage avec des aires bien équipées", "mobilites"),
        ("Il faut rouvrir les petites lignes ferroviaires du Centre-Bretagne", "mobilites"),
        ("Il faut faciliter le transport des vélos dans les TER", "mobilites"),
        ("Il faut construire plus de logements sociaux près des centres-bourgs", "logement"),
        ("Il faut limiter les résidences secondaires sur le littoral", "logement"),
        ("Il faut aider la rénovation énergétique des maisons anciennes", "logement"),
        ("Il faut proposer des logements aux saisonniers et aux apprentis", "logement"),
        ("Il faut réhabiliter les logements vacants des centres-villes", "logement"),
        ("Il faut installer des maisons de santé dans chaque canton", "sante"),
        ("Il faut aider les jeunes médecins à s'installer en zone rurale", "sante"),
        ("Il faut développer la téléconsultation dans les pharmacies", "sante"),
        ("Il faut garder les maternités de proximité ouvertes", "sante"),
        ("Il faut plus de places en Ehpad et d'aide à domicile", "sante"),
        ("Il faut former les jeunes aux métiers de la mer", "emploi"),
        ("Il faut soutenir les commerces de proximité dans les bourgs", "emploi"),
        ("Il faut des espaces de coworking dans les petites communes", "emploi"),
        ("Il faut valoriser l'apprentissage auprès des collégiens", "emploi"),
        ("Il faut soutenir les agriculteurs qui passent en bio", "emploi"),
        ("Il faut protéger le bocage et replanter des haies", "environnement"),
        ("Il faut lutter contre les algues vertes à la source", "environnement"),
        ("Il faut mieux protéger le littoral de l'érosion", "environnement"),
        ("Il faut plus de cantines scolaires avec des produits locaux", "environnement"),
        ("Il faut développer les énergies marines renouvelables", "environnement"),
        ("Il faut garder un bureau de poste dans chaque commune", "services-publics"),
        ("Il faut la fibre optique partout, même dans les hameaux", "services-publics"),
        ("Il faut des guichets France Services ouverts le samedi", "services-publics"),
        ("Il faut plus d'activités culturelles pour les jeunes en zone rurale", "services-publics"),
        ("Il faut enseigner le breton dans plus d'écoles publiques", "services-publics"),
    ],
    "pending": [
        "Il faut des navettes vers les plages l'été pour éviter les bouchons",
        "Il faut un tarif unique pour tous les transports de la région",
        "Il faut des jardins partagés dans chaque quartier",
    ],
}

LYON = {
    "slug": "lyon-2030",
    "question": "Comment rendre Lyon plus agréable à vivre au quotidien ?",
    "context": (
        "La Ville de Lyon vous invite à imaginer la ville de demain : espaces publics, "
        "déplacements, vie de quartier, culture, propreté.\n\n"
        "Chaque proposition est lue par l'équipe de modération, puis soumise aux votes."
    ),
    "goals": (50_000, 3_000, 200_000),
    "visibility": "public",
    "tags": [
        ("deplacements", "Déplacements"),
        ("nature-en-ville", "Nature en ville"),
        ("vie-de-quartier", "Vie de quartier"),
        ("culture", "Culture"),
        ("proprete", "Propreté"),
    ],
    "proposals": [
        ("Il faut plus de rues piétonnes dans la Presqu'île le week-end", "deplacements"),
        ("Il faut des parkings vélos sécurisés près des gares", "deplacements"),
        ("Il faut prolonger les horaires du métro le samedi soir", "deplacements"),
        ("Il faut des rues scolaires fermées aux voitures aux heures d'école", "deplacements"),
        ("Il faut relier les pistes cyclables des quais entre elles", "deplacements"),
        ("Il faut plus de bus de nuit vers les quartiers périphériques", "deplacements"),
        ("Il faut planter des arbres dans toutes les cours d'école", "nature-en-ville"),
        ("Il faut créer des îlots de fraîcheur pour les étés caniculaires", "nature-en-ville"),
        ("Il faut végétaliser les toits des bâtiments publics", "nature-en-ville"),
        ("Il faut ouvrir les parcs plus tard en été", "nature-en-ville"),
        ("Il faut installer des fontaines d'eau potable dans chaque parc", "nature-en-ville"),
        ("Il faut rendre les berges du Rhône accessibles à la baignade", "nature-en-ville"),
        ("Il faut des budgets participatifs dans chaque arrondissement", "vie-de-quartier"),
        ("Il faut plus de bancs et de toilettes publiques gratuites", "vie-de-quartier"),
        ("Il faut aider les commerces indépendants face aux loyers élevés", "vie-de-quartier"),
        ("Il faut des maisons de quartier ouvertes le soir", "vie-de-quartier"),
        ("Il faut mieux éclairer les passages souterrains", "vie-de-quartier"),
        ("Il faut des terrains de sport en accès libre dans chaque quartier", "vie-de-quartier"),
        ("Il faut des concerts gratuits dans les parcs l'été", "culture"),
        ("Il faut des musées gratuits le premier dimanche du mois", "culture"),
        ("Il faut soutenir les petites salles de spectacle", "culture"),
        ("Il faut plus de bibliothèques ouvertes le dimanche", "culture"),
        ("Il faut des murs d'expression libre pour les artistes de rue", "culture"),
        ("Il faut plus de poubelles de tri dans l'espace public", "proprete"),
        ("Il faut composter les déchets alimentaires de tous les immeubles", "proprete"),
        ("Il faut verbaliser davantage les dépôts sauvages", "proprete"),
        ("Il faut des cendriers de rue pour réduire les mégots au sol", "proprete"),
    ],
    "pending": [
        "Il faut un tramway jusqu'aux communes de l'ouest lyonnais",
        "Il faut des fêtes de quartier organisées par les habitants",
    ],
}

ACME = {
    "slug": "acme-demain",
    "question": "Comment mieux travailler ensemble chez Acme ?",
    "context": (
        "Consultation interne, réservée aux salariés d'Acme Industries (connexion requise). "
        "Organisation du travail, outils, formation, qualité de vie : toutes les idées comptent.\n\n"
        "La direction s'engage à répondre publiquement aux dix propositions les plus soutenues."
    ),
    "goals": (2_000, 300, 20_000),
    "visibility": "restricted",
    "tags": [
        ("organisation", "Organisation du travail"),
        ("outils", "Outils"),
        ("formation", "Formation"),
        ("qualite-de-vie", "Qualité de vie au travail"),
    ],
    "proposals": [
        (
            "Il faut deux jours de télétravail par semaine pour tous les postes possibles",
            "organisation",
        ),
        ("Il faut limiter les réunions à trente minutes par défaut", "organisation"),
        ("Il faut une matinée sans réunion chaque semaine", "organisation"),
        ("Il faut publier les décisions de la direction sur l'intranet", "organisation"),
        ("Il faut des objectifs d'équipe plutôt qu'individuels", "organisation"),
        ("Il faut simplifier les notes de frais", "organisation"),
        ("Il faut un seul outil de messagerie pour toute l'entreprise", "outils"),
        ("Il faut renouveler les ordinateurs portables tous les trois ans", "outils"),
        ("Il faut un annuaire interne avec les compétences de chacun", "outils"),
        ("Il faut un support informatique joignable le soir", "outils"),
        ("Il faut documenter les procédures dans un wiki commun", "outils"),
        ("Il faut des formations courtes pendant les heures de travail", "formation"),
        ("Il faut un mentorat pour chaque nouvel arrivant", "formation"),
        ("Il faut permettre des immersions d'une semaine dans un autre service", "formation"),
        ("Il faut financer des cours de langues pour les équipes export", "formation"),
        ("Il faut partager les retours d'expérience après chaque projet", "formation"),
        ("Il faut une salle de repos dans chaque bâtiment", "qualite-de-vie"),
        ("Il faut des horaires flexibles pour les parents", "qualite-de-vie"),
        ("Il faut un restaurant d'entreprise avec des plats végétariens", "qualite-de-vie"),
        ("Il faut des places de parking pour le covoiturage", "qualite-de-vie"),
        ("Il faut un local à vélos sécurisé avec des douches", "qualite-de-vie"),
        ("Il faut organiser une journée solidaire par an", "qualite-de-vie"),
        ("Il faut insonoriser les bureaux partagés", "qualite-de-vie"),
        ("Il faut des écrans réglables en hauteur pour tous", "qualite-de-vie"),
        ("Il faut un entretien annuel centré sur l'évolution de carrière", "formation"),
    ],
    "pending": [
        "Il faut une semaine de quatre jours à l'essai dans un service",
        "Il faut ouvrir une crèche d'entreprise",
    ],
}

CLIMAT = {
    "slug": "agir-pour-le-climat",
    "question": "Comment agir ensemble contre le dérèglement climatique ?",
    "context": (
        "Une grande cause nationale : réduire nos émissions et nous adapter au climat qui change. "
        "Alimentation, transports, logement, consommation, énergie : proposez et votez.\n\n"
        "Les idées qui font consensus seront portées auprès des décideurs publics et privés."
    ),
    "goals": (500_000, 20_000, 2_000_000),
    "visibility": "public",
    "tags": [
        ("alimentation", "Alimentation"),
        ("transports", "Transports"),
        ("energie", "Énergie"),
        ("consommation", "Consommation"),
        ("adaptation", "Adaptation"),
    ],
    "proposals": [
        ("Il faut un repas végétarien par jour dans toutes les cantines", "alimentation"),
        ("Il faut afficher l'empreinte carbone des produits alimentaires", "alimentation"),
        ("Il faut soutenir les circuits courts et les marchés de producteurs", "alimentation"),
        ("Il faut lutter contre le gaspillage dans la grande distribution", "alimentation"),
        ("Il faut aider les agriculteurs à stocker du carbone dans les sols", "alimentation"),
        ("Il faut développer les trains de nuit en Europe", "transports"),
        ("Il faut une prime pour passer au vélo électrique", "transports"),
        ("Il faut baisser la TVA sur les billets de train", "transports"),
        ("Il faut limiter les vols intérieurs quand le train fait moins de 4 heures", "transports"),
        ("Il faut réduire la vitesse sur autoroute à 110 km/h", "transports"),
        ("Il faut développer le fret ferroviaire pour les marchandises", "transports"),
        ("Il faut isoler toutes les passoires thermiques d'ici dix ans", "energie"),
        ("Il faut des panneaux solaires sur tous les parkings de supermarché", "energie"),
        ("Il faut aider les copropriétés à rénover ensemble", "energie"),
        ("Il faut développer les coopératives citoyennes d'énergie", "energie"),
        ("Il faut interdire le chauffage des terrasses en extérieur", "energie"),
        ("Il faut allonger la garantie légale des appareils à dix ans", "consommation"),
        ("Il faut des ateliers de réparation gratuits dans chaque ville", "consommation"),
        ("Il faut limiter la publicité pour les produits les plus polluants", "consommation"),
        ("Il faut généraliser la consigne des bouteilles en verre", "consommation"),
        ("Il faut un indice de réparabilité sur tous les produits", "consommation"),
        ("Il faut enseigner le climat à tous les niveaux de l'école", "consommation"),
        ("Il faut végétaliser les cours d'école contre la chaleur", "adaptation"),
        ("Il faut protéger les zones humides contre l'urbanisation", "adaptation"),
        ("Il faut préparer les villes aux canicules avec des plans d'ombre", "adaptation"),
        ("Il faut mieux gérer l'eau en période de sécheresse", "adaptation"),
        ("Il faut planter des forêts diversifiées résistantes à la chaleur", "adaptation"),
        ("Il faut former les élus locaux aux risques climatiques", "adaptation"),
    ],
    "pending": [
        "Il faut un compte carbone personnel pour chaque citoyen",
        "Il faut taxer le kérosène des avions comme l'essence",
        "Il faut des pistes cyclables le long de toutes les routes nationales",
    ],
}

DEMO_CONSULTATIONS: dict[str, dict] = {
    "bretagne": BRETAGNE,
    "lyon": LYON,
    "acme": ACME,
    "climat": CLIMAT,
}

# Demo citizens of each tenant: (first name, e-mail local part, year of birth, postal code).
# Twelve authors per tenant: a sequence shows at most one proposal per author, so the demo's
# sequences show twelve cards (with three or four authors they showed three or four). Postal
# codes of real communes, from cities to villages, so that every territory segment is present.
DEMO_CITIZENS: dict[str, list[tuple[str, str, int, str]]] = {
    "bretagne": [
        ("Maëlle", "maelle", 1991, "29200"),
        ("Yann", "yann", 1968, "22300"),
        ("Soizic", "soizic", 1985, "35000"),
        ("Erwan", "erwan", 2002, "56270"),
        ("Gwenaëlle", "gwenaelle", 1979, "29000"),
        ("Loïc", "loic", 1957, "56100"),
        ("Nolwenn", "nolwenn", 1996, "35400"),
        ("Tristan", "tristan", 1983, "22000"),
        ("Enora", "enora", 2005, "56000"),
        ("Ronan", "ronan", 1972, "29160"),
        ("Anaïs", "anais", 1988, "35160"),
        ("Corentin", "corentin", 1964, "22500"),
    ],
    "lyon": [
        ("Camille", "camille", 1994, "69003"),
        ("Karim", "karim", 1979, "69008"),
        ("Louise", "louise", 2001, "69100"),
        ("Mathis", "mathis", 1986, "69001"),
        ("Sofia", "sofia", 1998, "69002"),
        ("Bernard", "bernard", 1952, "69004"),
        ("Chloé", "chloe", 1990, "69005"),
        ("Youssef", "youssef", 1975, "69007"),
        ("Manon", "manon", 2003, "69009"),
        ("Antoine", "antoine", 1969, "69200"),
        ("Émilie", "emilie", 1984, "69500"),
        ("Lucas", "lucas", 1999, "69290"),
    ],
    "acme": [
        ("Nadia", "nadia", 1983, "92100"),
        ("Thomas", "thomas", 1990, "75011"),
        ("Julie", "julie", 1975, "69007"),
        ("Olivier", "olivier", 1968, "33000"),
        ("Sarah", "sarah", 1995, "67000"),
        ("Mehdi", "mehdi", 1987, "06000"),
        ("Claire", "claire", 1972, "34000"),
        ("Romain", "romain", 1993, "35000"),
        ("Aïcha", "aicha", 1981, "59000"),
        ("Vincent", "vincent", 1965, "44000"),
        ("Laura", "laura", 2000, "24200"),
        ("Nicolas", "nicolas", 1978, "71000"),
    ],
    "climat": [
        ("Inès", "ines", 1998, "13001"),
        ("Paul", "paul", 1960, "44000"),
        ("Léa", "lea", 2004, "31000"),
        ("Hugo", "hugo", 1987, "59000"),
        ("Jeanne", "jeanne", 1955, "75020"),
        ("Rayan", "rayan", 2002, "63000"),
        ("Margaux", "margaux", 1992, "21000"),
        ("Pierre", "pierre", 1971, "87000"),
        ("Lina", "lina", 1999, "64000"),
        ("Marc", "marc", 1963, "48000"),
        ("Zoé", "zoe", 2006, "04000"),
        ("Samuel", "samuel", 1984, "12000"),
    ],
}

# Each demo coalition: (name, tier, website, colour of its generated logo). Fictional
# organisations; their logos are drawn by the seed (a coloured banner with the name).
DEMO_PARTNERS = {
    "bretagne": [
        ("Fondation Littoral & Bocage", "founding", "https://littoral-bocage.example", "#0b5394"),
        ("Banque des Communes de l'Ouest", "founding", None, "#38761d"),
        ("Réseau des tiers-lieux bretons", "associate", None, "#a64d79"),
        ("Mutuelle d'Armor", "associate", "https://mutuelle-armor.example", "#b45f06"),
    ],
    "lyon": [
        ("Fondation Rhône-Saône", "founding", "https://rhone-saone.example", "#990000"),
        ("Lyon Solidaire", "associate", None, "#134f5c"),
    ],
    "acme": [],  # an internal consultation: no coalition
    "climat": [
        ("Fondation Terre commune", "founding", "https://terre-commune.example", "#274e13"),
        ("Énergies partagées", "founding", None, "#7f6000"),
        ("Banque verte coopérative", "founding", None, "#0c343d"),
        ("Collectif Vélo partout", "associate", None, "#85200c"),
        ("Écoles durables", "associate", "https://ecoles-durables.example", "#20124d"),
        ("Océans vivants", "associate", None, "#1c4587"),
    ],
}
